"""``antre web``: the residents' website and the staff page. Another device on the office broker."""
