"""The demo brochure: a small, valid one-page PDF written by hand, and its upload to S3."""
from __future__ import annotations

from botocore.exceptions import ClientError

from mesh_common.s3 import s3_client

TITLE = "Fitted Kitchens & Bedrooms - Brochure"
LINES = [
    ("F2", 24, "Fitted Kitchens & Bedrooms"),
    ("F1", 14, "Our brochure"),
    ("F1", 12, ""),
    ("F1", 12, "Kitchens: handleless, shaker and in-frame designs, made to measure."),
    ("F1", 12, "Bedrooms: fitted wardrobes, dressing areas and storage for every room."),
    ("F1", 12, "Every project starts with a free home measurement visit,"),
    ("F1", 12, "a showroom visit or a video consultation with a designer."),
    ("F1", 12, ""),
    ("F1", 12, "Book an appointment online at any time."),
]


def _pdf_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def brochure_pdf() -> bytes:
    """PDF 1.4, A4, standard Helvetica fonts (no embedding needed), with a correct xref table."""
    content = ["BT", "56 770 Td"]
    for font, size, line in LINES:
        content += [f"/{font} {size} Tf", f"({_pdf_text(line)}) Tj", f"0 -{int(size * 1.6)} Td"]
    content.append("ET")
    stream = "\n".join(content).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title (%s) /Producer (booking-mesh) >>" % _pdf_text(TITLE).encode("latin-1"),
    ]
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
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\n" % (len(objects) + 1, len(objects))
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
