"""The connection to Epic (FHIR R4, SMART on FHIR): sign-in and tokens, the FHIR client, and
its errors. Optional: Rupa Desk works the same without it."""
