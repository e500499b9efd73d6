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

# -- the storefront's clickstream ----------------------------------------------------------------------------

# Shares of the devices a new visitor browses on, in the order of contract.DEVICES (desktop, mobile, tablet).
DEVICE_SHARES = (0.44, 0.49, 0.07)
# The browsers' user agent strings, by device; none of them names a bot, a crawler or a headless browser.
DEVICE_USER_AGENTS: tuple[tuple[str, ...], ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4.1 Safari/605.1.15",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
    ),
)
# Crawlers and headless browsers: the tracker records them like anyone else.
BOT_USER_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 "
    "Safari/537.36",
)

# Where visits without campaign parameters come from, with their shares; the rest (about half) are direct.
ORGANIC_REFERRERS: tuple[tuple[str, float], ...] = (
    ("https://www.google.com/", 0.30),
    ("https://www.bing.com/", 0.04),
    ("https://duckduckgo.com/", 0.02),
    ("https://www.facebook.com/", 0.03),
    ("https://www.instagram.com/", 0.02),
    ("https://www.reddit.com/", 0.01),
    ("https://www.pinterest.com/", 0.01),
    ("https://blog.example.org/gift-ideas", 0.02),
    ("https://news.example.net/deals-of-the-week", 0.01),
)
# Campaign traffic: utm_source, utm_medium, the referrer its landing page sees (None: none, as from an
# email client), and its share of campaign sessions.
CAMPAIGN_SOURCES: tuple[tuple[str, str, str | None, float], ...] = (
    ("google", "cpc", "https://www.google.com/", 0.30),
    ("bing", "cpc", "https://www.bing.com/", 0.05),
    ("newsletter", "email", None, 0.25),
    ("facebook", "social", "https://www.facebook.com/", 0.12),
    ("instagram", "social", "https://www.instagram.com/", 0.10),
    ("tiktok", "social", "https://www.tiktok.com/", 0.06),
    ("couponsite", "affiliate", "https://coupons.example.com/shop", 0.07),
    ("giftblog", "affiliate", "https://blog.example.org/gift-ideas", 0.05),
)
CAMPAIGNS = (
    "spring_sale", "new_arrivals", "free_shipping_weekend", "brand_search", "retargeting",
    "loyalty_reactivation",
)  # fmt: skip

# -- product reviews ---------------------------------------------------------------------------------------

# Titles and bodies by rating (index 0: one star). Some bodies hold a quote, a comma, a backslash or a
# line break, as customers type them.
REVIEW_TITLES: tuple[tuple[str, ...], ...] = (
    ("Very disappointed", "Not as described", "Broke within a week", "Would not buy again"),
    ("Not great", "Below expectations", "Meh, returned it", "Quality could be better"),
    ("Okay", "Does the job", "Average", "Fine for the price"),
    ("Very good", "Happy with it", "Nice quality", "Good value"),
    ("Love it!", "Excellent", "Perfect gift", "Exactly what I wanted", "Five stars"),
)
REVIEW_BODIES: tuple[tuple[str, ...], ...] = (
    (
        "Arrived damaged and the box was soaked.",
        'The "premium" finish is just paint, it came off after two days.',
        "Waited forever for delivery, then it didn't even work.",
        "Cheap material, wrong size, no reply from support.\nVery disappointed.",
    ),
    (
        "Looks nothing like the photos, colour is off.",
        "Smaller than expected, and the delivery was slow.",
        "It works, but it feels flimsy :-\\",
    ),
    (
        "Does what it says, nothing more.",
        "Decent, although shipping took a while.",
        'Good product, but "next day delivery" took a week.',
        "OK for the price.\nPackaging could be better.",
    ),
    (
        "Good quality, fits well, would recommend.",
        "Nice product, arrived on time.",
        "Very happy, only the colour is a bit darker than shown.",
        "Solid, well made, and cheaper than in stores.",
    ),
    (
        "Absolutely love it, fast delivery, great quality!",
        "Exactly as described. Would buy again.",
        "My second one already, the whole family uses it.",
        'Bought it as a gift, she said it\'s "the best present ever".',
        "Perfect.\nThank you!",
    ),
)
REVIEW_UPDATES: tuple[str, ...] = (
    " Update: it stopped working after a month.",
    " Update: support sent a replacement, much better now.",
    " Update: still going strong after a few weeks.",
)
