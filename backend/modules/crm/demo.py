"""Demo CRM data: a few hundred customers with contacts, a live pipeline and activities.

Everything goes through the services, so events, the timeline and follow-up tasks are real.
``session.info["demo_scale"]`` (customers) keeps tests small.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.modules.crm import service as crm
from backend.modules.platform import service as platform
from backend.modules.platform.models import AppUser, Membership

PREFIXES = ["Golden", "Jade", "Lotus", "Dragon", "Harbor", "Summit", "Pearl", "Silk Road", "Eastern", "Blue Sky",
            "Bamboo", "Crane", "Phoenix", "Riverside", "Maple", "Evergreen", "Northern", "Sunrise", "Orchid", "Cedar"]
TRADES = ["Tea House", "Trading", "Textiles", "Logistics", "Electronics", "Foods", "Ceramics", "Hardware",
          "Pharmacy", "Books", "Furniture", "Bakery", "Optics", "Printing", "Garden Supply"]
CITIES = ["Shanghai", "Hangzhou", "Suzhou", "Shenzhen", "Chengdu", "Beijing", "Wuhan", "Xiamen"]
PEOPLE = ["Wang Lei", "Li Na", "Zhang Wei", "Liu Fang", "Chen Jing", "Yang Yang", "Huang Min", "Zhao Qiang",
          "Zhou Xin", "Wu Hao", "Xu Li", "Sun Yu", "Ma Jun", "Hu Yan", "Guo Tao", "He Ping"]
INDUSTRIES = ["Retail", "Wholesale", "Manufacturing", "Hospitality", "Healthcare", "Education"]
SOURCES = ["website", "referral", "trade show", "cold call", "partner"]


async def seed(session: AsyncSession) -> None:
    rng = random.Random(20261129)
    scale = int(session.info.get("demo_scale", 200))
    staff = list((await session.execute(
        select(AppUser.id, Membership.role).join(Membership, Membership.user_id == AppUser.id)
        .where(Membership.tenant_id == session.info["tenant_id"], Membership.role.in_(("sales", "manager", "owner")))
    )).all())
    owners = [s.id for s in staff] or [None]
    stages = await crm.list_stages(session)
    await platform.define_field(session, entity="crm.customer", key="tier", label="Loyalty tier", type="choice",
                                choices=["bronze", "silver", "gold"])
    campaigns = [
        await crm.create_campaign(session, name="Spring Tea Fair 2026", channel="trade show", budget=Decimal(18000),
                                  starts_on=date(2026, 3, 10), ends_on=date(2026, 3, 14), status="completed"),
        await crm.create_campaign(session, name="WeChat mini-program launch", channel="social", budget=Decimal(6500),
                                  starts_on=date(2026, 11, 1), status="active"),
    ]
    customer_ids = []
    names: set[str] = set()
    for i in range(scale):
        name = f"{rng.choice(PREFIXES)} {rng.choice(TRADES)}"
        if name in names:
            name = f"{name} ({rng.choice(CITIES)})"
        if name in names:
            name = f"{name} #{i}"
        names.add(name)
        owner = rng.choice(owners)
        slug = "".join(c for c in name.lower() if c.isalnum())[:20] or f"c{i}"
        customer = await crm.create_customer(session, allow_duplicate=True, values=crm.CustomerFields(
            name=name, kind="company", email=f"hello@{slug}.example.cn",
            phone=f"+86 21 {rng.randint(5000_0000, 6999_9999)}",
            industry=rng.choice(INDUSTRIES), tags=rng.sample(["vip", "wholesale", "retail", "export", "new"], 2),
            status=rng.choice(["prospect", "customer", "customer", "lead"]), source=rng.choice(SOURCES),
            owner_id=owner, billing_address={"city": rng.choice(CITIES), "country": "CN"},
            custom_fields={"tier": rng.choice(["bronze", "silver", "gold"])}))
        customer_ids.append(customer.id)
        for j in range(rng.randint(1, 2)):
            person = rng.choice(PEOPLE)
            await crm.create_contact(session, customer_id=customer.id, name=person,
                                     email=f"{person.split()[1].lower()}.{j}@{slug}.example.cn",
                                     title=rng.choice(["Owner", "Buyer", "Manager", "Accountant"]))
        if stages and rng.random() < 0.6:
            opp = await crm.create_opportunity(
                session, customer_id=customer.id, name=f"{rng.choice(['Spring', 'Autumn', 'Annual', 'Trial'])} order",
                amount=Decimal(rng.randrange(2_000, 250_000, 500)), owner_id=owner, actor=owner,
                expected_close_date=date(2026, 12, 1) + timedelta(days=rng.randint(0, 120)))
            for stage in stages[1:rng.randint(1, len(stages))]:
                await crm.move_stage(session, opportunity_id=opp.id, stage_id=stage.id, actor=owner)
            outcome = rng.random()
            if outcome < 0.2:
                await crm.win(session, opportunity_id=opp.id, actor=owner)
            elif outcome < 0.3:
                await crm.lose(session, opportunity_id=opp.id, reason=rng.choice(["price", "timing", "competitor"]),
                               actor=owner)
        if rng.random() < 0.5:
            await crm.create_activity(session, kind=rng.choice(["call", "email", "meeting"]),
                                      subject=rng.choice(["Intro call", "Sent catalogue", "Visited showroom"]),
                                      customer_id=customer.id, created_by=owner)

    # Lead routing: trade-show leads go to a desk team (fewest open leads first), leads from the
    # partner's domain to the first of the staff; the rest to the sales round robin.
    sellers = [s.id for s in staff if s.role in ("sales", "manager")]
    desk = await platform.create_team(session, name="Trade show desk")
    for user_id in sellers:
        await platform.add_team_member(session, team_id=desk.id, user_id=user_id)
    await crm.create_lead_rule(session, name="Trade shows to the desk", source="trade show", team_id=desk.id)
    if staff:
        await crm.create_lead_rule(session, name="Partner referrals", email_domain="partner.example.cn",
                                   user_id=staff[0].id)

    # Leads from the campaigns, a third of them converted, some into opportunities; every fourth
    # one is routed by the rules instead of given an owner.
    for i in range(max(4, scale // 5)):
        person = rng.choice(PEOPLE)
        campaign = rng.choice(campaigns)
        company = f"{rng.choice(PREFIXES)} {rng.choice(TRADES)} Lead {i}"
        lead = await crm.create_lead(session, name=person, company=company,
                                     email=f"lead{i}@prospects.example.cn", source=campaign.channel,
                                     campaign_id=campaign.id, owner_id=None if i % 4 == 1 else rng.choice(owners))
        if i % 3 == 0:
            await crm.convert_lead(session, lead_id=lead.id, create_opportunity_too=i % 2 == 0,
                                   amount=Decimal(rng.randrange(5_000, 60_000, 500)), actor=lead.owner_id)
    await crm.add_members(session, campaign_id=campaigns[1].id, customer_ids=rng.sample(customer_ids,
                                                                                         min(10, len(customer_ids))))
    # Service cases, some answered and resolved.
    for i in range(max(3, scale // 10)):
        case = await crm.create_case(session, customer_id=rng.choice(customer_ids),
                                     subject=rng.choice(["Damaged delivery", "Invoice question", "Late shipment",
                                                         "Product defect", "Change of address"]),
                                     priority=rng.choice(["low", "normal", "high", "urgent"]),
                                     channel=rng.choice(["email", "phone", "web", "chat"]),
                                     assignee_id=rng.choice(owners))
        await crm.comment_case(session, case_id=case.id, body="Checked the order history.", public=False,
                               author_id=case.assignee_id)
        if i % 2 == 0:
            await crm.comment_case(session, case_id=case.id, body="Thank you, we are on it.", public=True,
                                   author_id=case.assignee_id)
            await crm.resolve_case(session, case_id=case.id)
