"""Finding records that describe the same client or person, and merging them."""
