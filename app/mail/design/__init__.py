"""Email designs: a merchant's email as an ordered list of blocks (docs/email-designs.md),
checked (document), rendered through MJML (blocks, mjml_html, text), stored per store (store)."""
