"""The worklist reads a possible acute leukaemia and critical counts first (cbc-flags-3): an
analyser message suspecting blasts weighs 8, a count past its customary critical limit
(haemoglobin < 7 g/dL, ANC < 0.5, platelets < 20 x 10^9/L) weighs 4 where the same finding
otherwise weighs 2. A chronic macrocytic anaemia (2 + 2) no longer outranks 'Blasts?'."""

from __future__ import annotations

from apps.hemograms.flags import Value, cbc_findings


def _weights(values: list[Value], ip: tuple[str, ...] = ()) -> dict[str, int]:
    return {f.name: f.weight for f in cbc_findings(values, ip_messages=ip)}


def test_critical_limits_weigh_double():
    mild = [Value("HGB", 9.6, 13.0, 17.0), Value("NEUT#", 1.2, 1.8, 7.5),
            Value("PLT", 88.0, 150.0, 400.0)]
    critical = [Value("HGB", 6.1, 13.0, 17.0), Value("NEUT#", 0.3, 1.8, 7.5),
                Value("PLT", 18.0, 150.0, 400.0)]
    assert _weights(mild) == {"anaemia": 2, "neutropenia": 2, "thrombocytopenia": 2}
    assert _weights(critical) == {"anaemia": 4, "neutropenia": 4, "thrombocytopenia": 4}
    # At the limit itself the count is not past it.
    assert _weights([Value("PLT", 20.0, 150.0, 400.0)]) == {"thrombocytopenia": 2}


def test_a_blast_message_outranks_a_chronic_macrocytic_anaemia():
    blasts = _weights([Value("WBC", 18.7, 4.0, 10.0), Value("PLT", 62.0, 150.0, 400.0)],
                      ("Blasts/Abn Lympho?",))
    chronic = _weights([Value("HGB", 9.6, 13.0, 17.0), Value("MCV", 104.0, 80.0, 100.0),
                        Value("PLT", 88.0, 150.0, 400.0), Value("NEUT#", 1.2, 1.8, 7.5)])
    assert blasts["analyser_message"] == 8
    assert sum(blasts.values()) > sum(chronic.values())
    assert _weights([], ("PLT Clumps?",)) == {"analyser_message": 1}


def test_a_count_past_its_critical_limit_is_called_critical_with_that_limit():
    from django.utils import translation

    from apps.hemograms.wording import cbc_short_name
    from apps.patients.flag_text import flag_reason

    class Flag:  # a SpecimenFlag's reason as stored
        def __init__(self, reason: dict) -> None:
            self.reason, self.rule = reason, ""

    found = {f.name: f for f in cbc_findings([Value("HGB", 6.5, 12.0, 16.0),
                                              Value("NEUT#", 1.2, 1.8, 7.5)])}
    assert found["anaemia"].reason.params["critical"] == 7.0
    assert found["anaemia"].rule == "HGB 6.5 g/dL < 12 (critical < 7)"
    assert "critical" not in found["neutropenia"].reason.params
    critical, mild = (Flag(found[n].reason.as_dict()) for n in ("anaemia", "neutropenia"))
    with translation.override("en"):
        assert flag_reason(critical, analyte_name=cbc_short_name) == \
            "critical value: Hb 6.5 g/dL < 7"
        assert flag_reason(mild, analyte_name=cbc_short_name) == "ANC 1.2 ×10⁹/L < 1.5"
    with translation.override("fr"):
        assert flag_reason(critical, analyte_name=cbc_short_name) == \
            "valeur critique\u00a0: Hb 6,5 g/dL < 7"
