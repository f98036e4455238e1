"""The scan sections of the built-in analyses beside the rules, as data: a new one is
its section module plus one line here."""

from __future__ import annotations

from kmslog.report.section import Section


def builtin_sections() -> list[Section]:
    # Deferred: a scan imports only the section modules it runs.
    from kmslog.report.blind_spots_section import blind_spots_section
    from kmslog.report.foreign_key_objects_section import foreign_key_objects_section
    from kmslog.report.grants_section import grants_section
    from kmslog.report.key_policies_section import key_policies_section
    from kmslog.report.reencrypt_section import reencrypt_section

    return [
        blind_spots_section(),
        grants_section(),
        key_policies_section(),
        reencrypt_section(),
        foreign_key_objects_section(),
    ]
