"""The dev mesh's sample brochure: a valid multi-page PDF written by hand (no PDF library in the
services' images), and its upload to S3."""
from __future__ import annotations

from botocore.exceptions import ClientError

from mesh_common.s3 import s3_client

TITLE = "Fitted Kitchens & Bedrooms - Brochure"
BRAND = "Fitted Kitchens & Bedrooms"
A4 = (595, 842)
MARGIN = 56

# The sample brochure of the dev mesh: what a customer who asks for it would expect to find
# (ranges, finishes, how a project runs, prices as a guide, how to book), on several pages.
PAGES = [
    {"heading": BRAND, "subheading": "Kitchens and bedrooms, designed around you",
     "picture": ((0.80, 0.74, 0.64), "Shaker kitchen in sage green, oak worktops"),
     "text": ["Every room we fit is designed for the people who live in it, measured to the millimetre and "
              "built in our own workshop. This brochure shows our ranges, the finishes you can choose from, "
              "and how a project runs from the first conversation to the day we hand over the keys."]},
    {"heading": "Kitchens", "subheading": "Three ranges, one standard of making",
     "picture": ((0.25, 0.30, 0.33), "Handleless kitchen in graphite with a quartz island"),
     "text": ["Handleless: clean lines, integrated rails and push-to-open drawers.",
              "Shaker: a timeless five-piece door, hand-painted in any colour you like.",
              "In-frame: doors set inside a solid timber frame, made the traditional way.",
              "Every kitchen comes with soft-close hinges and runners, 18 mm carcasses and a 15-year guarantee."]},
    {"heading": "Bedrooms", "subheading": "Storage that fits the room, not the other way round",
     "picture": ((0.86, 0.83, 0.78), "Fitted wardrobes in linen white with a dressing area"),
     "text": ["Fitted wardrobes that use every centimetre, including sloping ceilings and alcoves.",
              "Dressing areas, window seats, bedside units and lighting designed as one.",
              "Interiors planned around what you own: hanging heights, shoe racks, drawers and shelves."]},
    {"heading": "Finishes", "subheading": "Doors, worktops and handles",
     "swatches": [((0.56, 0.64, 0.55), "Sage"), ((0.17, 0.22, 0.30), "Navy"), ((0.93, 0.91, 0.86), "Porcelain"),
                  ((0.45, 0.33, 0.24), "Walnut"), ((0.62, 0.52, 0.40), "Oak"), ((0.30, 0.30, 0.30), "Graphite")],
     "text": ["Worktops in oak, walnut, quartz and sintered stone; handles in brass, black and brushed steel.",
              "Ask for samples at your appointment: your designer brings them to your home."]},
    {"heading": "How a project runs", "subheading": "From the first visit to the last screw",
     "text": ["1. An appointment: a home measurement visit, a showroom visit or a video consultation.",
              "2. A design: plans and 3D views of your room, and a fixed quote with no hidden extras.",
              "3. Making: your furniture is built in our workshop, usually within six weeks.",
              "4. Fitting: our own fitters install everything and leave the room clean.",
              "5. Aftercare: one phone number for anything you need, for as long as you have the room."]},
    {"heading": "Book an appointment", "subheading": "Free, with no obligation",
     "text": ["Home measurement visit: a designer measures your room and talks through ideas (about 1 hour).",
              "Showroom visit: see and touch every range, finish and handle (about 1 hour).",
              "Video consultation: plan from home with a designer on screen (about 45 minutes).",
              "Book online at any time, or call your nearest showroom. Prices are a guide: a typical "
              "kitchen starts from 8,000 pounds and a fitted wardrobe from 2,500 pounds, fitted."]},
]  # fmt: skip


def _pdf_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _wrapped(text: str, size: int, width: float) -> list[str]:
    """Lines of at most `width` points in Helvetica (about half an em per character)."""
    per_line = max(10, int(width / (size * 0.5)))
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return lines + ([line] if line else [])


def _text(x: float, y: float, font: str, size: int, value: str, rgb=(0.13, 0.13, 0.13)) -> list[str]:
    return [f"{rgb[0]} {rgb[1]} {rgb[2]} rg", "BT", f"/{font} {size} Tf", f"{x} {y} Td", f"({_pdf_text(value)}) Tj", "ET"]


def _box(x: float, y: float, w: float, h: float, rgb) -> list[str]:
    return [f"{rgb[0]} {rgb[1]} {rgb[2]} rg", f"{x} {y} {w} {h} re", "f"]


def _page(number: int, page: dict) -> bytes:
    width, height = A4
    ops = _box(0, height - 8, width, 8, (0.56, 0.64, 0.55))  # a brand band across the top
    y = height - MARGIN - 20
    ops += _text(MARGIN, y, "F2", 26 if number == 1 else 22, page["heading"])
    y -= 26
    ops += _text(MARGIN, y, "F1", 14, page["subheading"], (0.35, 0.35, 0.35))
    y -= 30
    if "picture" in page:  # a photograph's place, with its caption
        rgb, caption = page["picture"]
        ops += _box(MARGIN, y - 300, width - 2 * MARGIN, 300, rgb)
        y -= 318
        ops += _text(MARGIN, y, "F1", 10, caption, (0.4, 0.4, 0.4))
        y -= 28
    if "swatches" in page:
        for index, (rgb, name) in enumerate(page["swatches"]):
            x = MARGIN + (index % 3) * 165
            top = y - (index // 3) * 150
            ops += _box(x, top - 110, 140, 110, rgb)
            ops += _text(x, top - 126, "F1", 11, name)
        y -= 320
    for paragraph in page["text"]:
        for line in _wrapped(paragraph, 12, width - 2 * MARGIN):
            ops += _text(MARGIN, y, "F1", 12, line)
            y -= 18
        y -= 8
    ops += _text(MARGIN, 36, "F1", 9, f"{BRAND}  |  page {number} of {len(PAGES)}", (0.5, 0.5, 0.5))
    return "\n".join(ops).encode("latin-1")


def brochure_pdf() -> bytes:
    """PDF 1.4, A4, several pages, standard Helvetica fonts (no embedding needed), a correct xref table."""
    fonts = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
             b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"]  # fmt: skip
    # Objects: 1 catalog, 2 pages, 3-4 fonts, 5 info, then a page and its content per page.
    first_page = 6
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(PAGES)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids.encode(), len(PAGES)),
        *fonts,
        b"<< /Title (%s) /Producer (booking-mesh) >>" % _pdf_text(TITLE).encode("latin-1"),
    ]
    for index, page in enumerate(PAGES):
        stream = _page(index + 1, page)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> >>" % (A4[0], A4[1], first_page + 2 * index + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def provision_brochure(s3_url: str, access_key: str, secret_key: str, bucket: str, key: str) -> bool:
    """Create the bucket and upload the brochure unless an object is already there; True if uploaded."""
    client = s3_client(s3_url, access_key, secret_key)
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        try:
            client.create_bucket(Bucket=bucket)
        except ClientError as create_exc:
            if create_exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
    try:
        client.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    client.put_object(Bucket=bucket, Key=key, Body=brochure_pdf(), ContentType="application/pdf")
    return True
