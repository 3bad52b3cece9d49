"""The Epic simulator: a FHIR R4 server with SMART on FHIR sign-in, over real HTTP on 127.0.0.1.

A stand-in for an Epic organisation's FHIR API (Epic on FHIR), for tests and demo mode; like
the Rupa simulator it shares no code with the app. `EpicServer` serves it; `EpicState` is its
world (patients, today's schedule, filed documents, tokens) and its fault switches.
"""
