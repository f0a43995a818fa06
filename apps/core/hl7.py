"""What HemaClinic calls itself in the HL7 messages it sends (MSH-3): the result writer
(apps.reports.hl7_result) names itself so, and the blood-count reader (apps.hemograms.parsers)
refuses a message so named, a validated smear result sent back, never an analyser's count."""

SENDING_APPLICATION = "HEMACLINIC"
