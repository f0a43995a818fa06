"""Why a flag put a specimen on the worklist: a code with its parameters, never a sentence.

Plain Python (no Django), so the hemogram rules (apps.hemograms.flags) and the scores
(apps.analysis.scores) write the same codes that apps.patients.flag_text words in the reader's
language. Stored on SpecimenFlag.reason as ``{"code": ..., "params": {...}}``; numbers are kept
as numbers, so a page formats them the reader's way.
"""

from __future__ import annotations

# A CBC value beyond its limit: analyte (CBC code), value, unit (as stored), op ("<" | ">"),
# limit (the reference limit or the clinical cut-off).
CBC_LIMIT = "cbc_limit"
# The VEXAS rule's level: level (intermediate | high), points (of 100).
VEXAS_LEVEL = "vexas_level"
# The CBC MDS model at or above its operating threshold: probability, threshold.
MDS_CBC_ABOVE = "mds_cbc_above"
# Dysplastic-looking neutrophils at or above the WHO threshold: fraction, threshold (fractions).
DYSPLASIA_ABOVE = "dysplasia_above"
# The latest analysis' cell images are outside the domain the cell model was validated on:
# outside (cells outside), cells (cells checked), max_outside (the share above which the
# specimen is outside, the analysis' own).
OUTSIDE_DOMAIN = "outside_domain"

# The analyser's own interpretive messages: messages (their texts, as the analyser wrote them).
ANALYSER_IP = "analyser_ip"

# CBC rows received for the signed case, held until attached or left out: n (how many).
CBC_HELD = "cbc_held"

# A blood count's file gives another collection time, sex or birth date than the registered
# specimen and patient: fields (of "collected_at", "sex", "birth_date").
CBC_RECORD_DIFFERS = "cbc_record_differs"

# The patient's record corrected after the case was signed: fields (of "family_name",
# "given_name", "birth_date", "sex").
RECORD_CORRECTED = "record_corrected"

CODES = frozenset({CBC_LIMIT, VEXAS_LEVEL, MDS_CBC_ABOVE, DYSPLASIA_ABOVE, OUTSIDE_DOMAIN,
                   ANALYSER_IP, CBC_HELD, CBC_RECORD_DIFFERS, RECORD_CORRECTED})
