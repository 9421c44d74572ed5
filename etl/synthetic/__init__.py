"""Seeded generators of SYNTHETIC (合成データ) demo data; every output says so where it appears."""
