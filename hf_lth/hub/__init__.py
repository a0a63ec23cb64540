"""Tickets on the Hugging Face Hub: staging, pushing and loading a ticket's mask (`tickets.py`), and its model card
(`card.py`)."""
