"""Google Business Profile: a location's reviews (star ratings) by polling; replies upserted and deleted by its API."""
