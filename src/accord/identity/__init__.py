"""Who people are, what department they work in, and what each may see and change."""
