"""Second factors: TOTP, recovery codes and passkeys on django-allauth's store
(allauth.mfa's Authenticator), with the kit's device sessions, lockouts and audit on top.
"""
