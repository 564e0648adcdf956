"""The generic inbound webhook channel: signed JSON posts become tickets through an admin's mapping."""
