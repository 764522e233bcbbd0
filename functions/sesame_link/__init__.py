"""sesame-link: link a customer's Sesame HR account by API token."""
