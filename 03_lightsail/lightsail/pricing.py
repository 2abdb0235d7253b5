"""Precio mensual por potencia: en vivo (GetContainerServicePowers) o la tabla documentada de prices.json."""

import json
from pathlib import Path
from typing import NamedTuple

from lightsail import calls

TABLE_FILE = Path(__file__).with_name("prices.json")

BILLING_WARNING = ("AVISO: el servicio factura cada hora desde que se crea hasta que se BORRA, aunque esté "
                   "deshabilitado o sin desplegar. Bórralo al terminar: make destroy-lightsail")


class PriceList(NamedTuple):
    powers: dict  # potencia → {"vcpu", "ram_gb", "price"} (USD al mes por nodo)
    source: str  # de dónde salen los precios, para decirlo al usuario


def documented():
    table = json.loads(TABLE_FILE.read_text(encoding="utf-8"))
    return PriceList(table["powers"], f"tabla documentada del {table['taken_on']}; sin credenciales no se puede "
                                      "consultar el precio en vivo")


def live(api):
    response = api.call(calls.get_powers())
    powers = {power["name"]: {"vcpu": power["cpuCount"], "ram_gb": power["ramSizeInGb"], "price": power["price"]}
              for power in response["powers"] if power.get("isActive", True)}
    return PriceList(powers, "precios en vivo de GetContainerServicePowers")


def monthly(prices, power, scale):
    return prices.powers[power]["price"] * scale


def cost_line(prices, power, scale):
    return (f"Coste: {power} × {scale} nodo(s) = {monthly(prices, power, scale):.2f} USD/mes "
            f"({prices.source}).")


def print_table(prices, power=None):
    print(f"Precios por potencia ({prices.source}):")
    print(f"  {'potencia':<9}{'vCPU':>6}{'RAM (GB)':>10}{'USD/mes por nodo':>18}")
    for name, row in prices.powers.items():
        mark = "  ←" if name == power else ""
        print(f"  {name:<9}{row['vcpu']:>6g}{row['ram_gb']:>10g}{row['price']:>18.2f}{mark}")
