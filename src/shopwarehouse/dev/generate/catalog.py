"""Reference data the generator draws from: markets, names, cities and the product catalogue's vocabulary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Market:
    country_code: str
    currency: str
    share: float  # share of sign-ups
    utc_offset_minutes: int  # local time of the storefront, written into some exported timestamps
    tax_rate: float
    shipping_cents: int  # flat shipping in the market's currency ...
    free_shipping_cents: int  # ... waived from this subtotal on
    cities: tuple[str, ...]
    postal_format: str  # '9' = a digit, 'A' = a capital letter, anything else literal
    phone_prefix: str


MARKETS: tuple[Market, ...] = (
    Market("US", "USD", 0.38, -300, 0.07, 599, 5000,
           ("New York", "Los Angeles", "Chicago", "Houston", "Seattle", "Austin", "Denver", "Miami"),
           "99999", "+1"),
    Market("CA", "CAD", 0.06, -300, 0.13, 799, 7500,
           ("Toronto", "Montréal", "Vancouver", "Calgary", "Ottawa"), "A9A 9A9", "+1"),
    Market("GB", "GBP", 0.12, 0, 0.20, 399, 4000,
           ("London", "Manchester", "Bristol", "Leeds", "Edinburgh", "Glasgow"), "AA9 9AA", "+44"),
    Market("DE", "EUR", 0.10, 60, 0.19, 499, 5000,
           ("Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main"), "99999", "+49"),
    Market("FR", "EUR", 0.08, 60, 0.20, 499, 5000,
           ("Paris", "Lyon", "Marseille", "Toulouse", "Nantes"), "99999", "+33"),
    Market("ES", "EUR", 0.05, 60, 0.21, 499, 5000,
           ("Madrid", "Barcelona", "Valencia", "Sevilla", "Málaga"), "99999", "+34"),
    Market("IT", "EUR", 0.05, 60, 0.22, 499, 5000,
           ("Roma", "Milano", "Napoli", "Torino", "Bologna"), "99999", "+39"),
    Market("NL", "EUR", 0.04, 60, 0.21, 499, 5000,
           ("Amsterdam", "Rotterdam", "Utrecht", "Den Haag", "Eindhoven"), "9999 AA", "+31"),
    Market("BR", "BRL", 0.12, -180, 0.17, 1990, 25000,
           ("São Paulo", "Rio de Janeiro", "Belo Horizonte", "Curitiba", "Salvador"), "99999-999",
           "+55"),
)  # fmt: skip

# Units of a market's currency per US dollar: list prices are kept in USD and sold in local currency.
PRICE_FX_PER_USD = {"USD": 1.0, "CAD": 1.36, "GBP": 0.79, "EUR": 0.92, "BRL": 5.05}

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Isabella", "Lucas",
    "Mia", "Mateo", "Charlotte", "Leon", "Chloé", "Hugo", "Zoë", "Lukas", "Lucía", "Alejandro",
    "Giulia", "Francesco", "Sophie", "Daan", "Ana", "João", "Maria", "Gabriel", "Aoife", "Siobhán",
    "Jürgen", "Łukasz", "Priya", "Arjun", "Mei", "Wei", "Fatima", "Omar", "Nia", "Kwame",
    "Hannah", "Jack", "Grace", "Thomas", "Émile", "Inès", "Sven", "Ingrid", "Dmitri", "Olga",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martínez",
    "Müller", "Schmidt", "Schneider", "Fischer", "Dubois", "Lefèvre", "Moreau", "Rossi", "Russo",
    "Bianchi", "de Vries", "van den Berg", "Jansen", "Silva", "Santos", "Oliveira", "Pereira",
    "O'Brien", "Murphy", "Kowalski", "Nowak", "Patel", "Singh", "Chen", "Wang", "Kim", "Nguyen",
    "Hernández", "López", "González", "Wilson", "Taylor", "Anderson", "Thomas", "Moore", "Martin",
    "Jackson", "Thompson", "White", "Harris", "Clark",
)  # fmt: skip

EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "inbox.example")

CHANNELS = ("web", "mobile", "marketplace")
CHANNEL_SHARES = (0.55, 0.36, 0.07)  # the rest (2%) is missing: older app versions sent none
PAYMENT_METHODS = ("card", "paypal", "wallet", "bank_transfer", "gift_card")
PAYMENT_METHOD_SHARES = (0.58, 0.2, 0.12, 0.06, 0.04)
# Chance that one payment attempt with this method fails.
PAYMENT_FAILURE_RATES = (0.055, 0.03, 0.03, 0.08, 0.09)
FAILURE_REASONS = (
    "card_declined", "insufficient_funds", "expired_card", "authentication_failed",
    "processing_error", "fraud_suspected", "transfer_not_received",
)  # fmt: skip

# Categories with (typical list price in USD, spread of log-price) and the nouns their products take.
CATEGORIES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "Apparel": (35.0, 0.5, ("T-Shirt", "Hoodie", "Jacket", "Jeans", "Dress", "Sweater", "Shorts")),
    "Footwear": (80.0, 0.4, ("Sneakers", "Boots", "Sandals", "Loafers", "Running Shoes")),
    "Accessories": (25.0, 0.6, ("Cap", "Scarf", "Belt", "Backpack", "Wallet", "Sunglasses")),
    "Home": (45.0, 0.7, ("Mug", "Lamp", "Cushion", "Blanket", "Vase", "Candle", "Frame")),
    "Beauty": (20.0, 0.5, ("Serum", "Moisturiser", "Lip Balm", "Shampoo", "Perfume")),
    "Electronics": (120.0, 0.8, ("Headphones", "Charger", "Speaker", "Smartwatch", "Keyboard")),
    "Sports": (40.0, 0.6, ("Yoga Mat", "Water Bottle", "Dumbbell", "Tennis Racket", "Bike Light")),
    "Toys": (22.0, 0.5, ("Puzzle", "Building Set", "Plush Bear", "Board Game", "Kite")),
    "Books": (18.0, 0.3, ("Cookbook", "Novel", "Atlas", "Notebook", "Sketchbook")),
}
ADJECTIVES = (
    "Classic", "Everyday", "Premium", "Organic", "Urban", "Vintage", "Eco", "Deluxe", "Essential",
    "Nordic", "Coastal", "Alpine", "Studio", "Heritage", "Compact",
)  # fmt: skip
