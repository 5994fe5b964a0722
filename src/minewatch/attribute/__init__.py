"""Whose machines they are: the address-space inventory, sectors and places."""
