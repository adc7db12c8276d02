"""The CAPE export: one upload file per planned declaration, a manifest, and the register of what was sent."""
