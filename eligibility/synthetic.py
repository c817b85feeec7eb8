"""Synthetic NHS numbers for demo data and tests.

Numbers starting 999 are never issued to real people, so demo records can never
collide with, or be mistaken for, a real person's.
"""

from collections.abc import Iterator

import nhs_number


def synthetic_nhs_numbers(start: int = 0) -> Iterator[str]:
    """Valid (modulus 11) NHS numbers in the 999 range, in a fixed order."""
    serial = start
    while True:
        body = f"999{serial:06d}"
        serial += 1
        check = nhs_number.calculate_checksum(body)  # type: ignore[attr-defined]
        if check is not None and check < 10:
            yield f"{body}{check}"
