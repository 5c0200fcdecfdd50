"""Order arithmetic with awkward numbers: rounded half-even at the documented points, to the cent."""

from __future__ import annotations

from decimal import Decimal as D

from backend.modules.orders.pricing import line_amounts, order_amounts


def test_a_line_is_rounded_at_each_documented_step():
    x = line_amounts(D("3"), D("19.99"), discount_kind="percent", discount=D("7.5"), tax_rate=D("13"),
                     currency="USD")
    # 59.97; 7.5 % = 4.49775 -> 4.50; 13 % of 55.47 = 7.2111 -> 7.21
    assert (x.subtotal, x.discount, x.tax, x.total) == (D("59.97"), D("4.50"), D("7.21"), D("62.68"))


def test_half_even_and_currencies_without_cents():
    assert line_amounts(D("1"), D("0.125"), discount_kind="percent", discount=D(0), tax_rate=D(0),
                        currency="USD").total == D("0.12")
    assert line_amounts(D("1"), D("0.135"), discount_kind="percent", discount=D(0), tax_rate=D(0),
                        currency="USD").total == D("0.14")
    yen = line_amounts(D("3"), D("333.5"), discount_kind="percent", discount=D(0), tax_rate=D("10"), currency="JPY")
    assert (yen.subtotal, yen.tax, yen.total) == (D("1000"), D("100"), D("1100"))  # 1000.5 -> 1000


def test_an_amount_discount_never_exceeds_the_line():
    x = line_amounts(D("2.5"), D("3.33"), discount_kind="amount", discount=D("100"), tax_rate=D("6"), currency="USD")
    assert (x.subtotal, x.discount, x.tax, x.total) == (D("8.32"), D("8.32"), D("0.00"), D("0.00"))  # 8.325 -> 8.32


def test_the_order_is_the_sum_of_its_rounded_lines():
    lines = [line_amounts(D("1"), D("0.333"), discount_kind="percent", discount=D("33.3333"), tax_rate=D("17.5"),
                          currency="USD") for _ in range(7)]
    order = order_amounts(lines, shipping=D("4.99"))
    assert order.subtotal == sum(x.subtotal for x in lines) == D("2.31")  # 7 x 0.33
    assert order.total == sum(x.total for x in lines) + D("4.99")
    assert order.total == order.subtotal - order.discount_total + order.tax_total + order.shipping_total
