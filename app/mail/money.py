"""Money as every email shows it: the currency's symbol where shoppers know one, else its code;
no decimals in the currencies that have none. The block designs (app.mail.design) use it."""
from __future__ import annotations

from decimal import Decimal

SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "EUR": "€", "GBP": "£",
           "JPY": "¥", "INR": "₹", "KRW": "₩", "BRL": "R$", "MXN": "MX$", "CHF": "CHF "}
WHOLE = ("JPY", "KRW", "VND", "CLP", "ISK")


def money(amount: Decimal | float | int, currency: str) -> str:
    """`$1,234.50`, `¥3,600`, `3,600.00 SEK`."""
    figure = f"{amount:,.0f}" if currency in WHOLE else f"{amount:,.2f}"
    return f"{SYMBOLS[currency]}{figure}" if currency in SYMBOLS else f"{figure} {currency}"
