"""Demo data for the platform: staff in every built-in role, a pending invitation, an API client,
a signed-in session (refresh token) and the audit entries for all of it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.modules.platform import audit, identity, notifications, webhooks
from backend.modules.platform import service as platform
from backend.modules.registry import installed_modules

DEMO_PASSWORD = "jishi-demo-2026"
STAFF = [
    ("owner", "Wang Fang"),
    ("admin", "Li Wei"),
    ("manager", "Zhang Min"),
    ("sales", "Liu Yang"),
    ("warehouse", "Chen Jie"),
    ("accountant", "Zhao Lei"),
    ("viewer", "Sun Li"),
]


def demo_email(role: str, slug: str) -> str:
    return f"{role}@{slug}.demo.jishi.dev"


async def seed(session: AsyncSession) -> None:
    tenant = await platform.get_tenant(session, tenant_id=session.info["tenant_id"])
    assert tenant is not None
    users = {}
    for role, name in STAFF:
        user = await identity.get_user_by_email(session, email=demo_email(role, tenant.slug))
        if user is None:
            user = await identity.create_user(session, email=demo_email(role, tenant.slug), name=name,
                                              password=DEMO_PASSWORD)
        await identity.add_member(session, user_id=user.id, role=role)
        users[role] = user
        await audit.record(session, operation="memberAdd", outcome="success", actor_user_id=None,
                           targets=[str(user.id)], input_summary={"role": role, "source": "demo"})
    owner = users["owner"]
    await identity.invite_member(session, email=f"new.hire@{tenant.slug}.demo.jishi.dev", role="sales",
                                 invited_by=owner.id, days=7, inviter_is_owner=True)
    await identity.create_api_client(session, registry=installed_modules(), name="Demo storefront",
                                     scopes=["platform.read"], created_by=owner.id,
                                     grantable=frozenset({"platform.read"}))
    await identity.issue_refresh_token(session, user_id=owner.id, client_id="jishi", scope="", days=30)
    team = await platform.create_team(session, name="East China sales")
    for role in ("manager", "sales"):
        await platform.add_team_member(session, team_id=team.id, user_id=users[role].id)
    # Integration: a webhook for every event (switched off until you point it at your endpoint; its
    # deliveries wait), and the tenant's own wording for the welcome notice in Chinese.
    hook, _ = await webhooks.create_webhook(session, url="https://hooks.example.com/jishi", event_types=["*"],
                                            secret=None, allow_private=True)
    await webhooks.fan_out(session)
    await webhooks.update_webhook(session, webhook_id=hook.id, enabled=False, allow_private=True)
    hook.disabled_reason = "demo endpoint: set your own URL, then enable it"
    await notifications.set_template(
        session, event_type="member.joined", language="zh-CN", subject="欢迎加入 $tenant",
        body="$name，您好！\n\n您已成为 $tenant 的成员（角色：$role）。有问题请联系管理员。\n")
