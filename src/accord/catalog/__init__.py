"""What the company sells: products (variants, price books and availability come later)."""
