#!/usr/bin/env python3
"""Opens a PDF with pypdf, a parser independent of the one that wrote it, and prints what a Factur-X PDF/A-3
must carry, as JSON: page count and size, attachments with their AFRelationship and subtype, the catalogue's
/AF array, the XMP's PDF/A identification and Factur-X properties, output intents, and whether every font is
embedded. Usage: inspect_pdf.py FILE.pdf
"""

import json
import sys

from lxml import etree
from pypdf import PdfReader

FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
PDFAID = "http://www.aiim.org/pdfa/ns/id/"
PDFA_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"


def fonts_embedded(reader):
    """Whether every font of every page has an embedded font program."""
    found = 0
    for page in reader.pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            descriptors = []
            if "/FontDescriptor" in font:
                descriptors.append(font["/FontDescriptor"].get_object())
            for descendant in font.get("/DescendantFonts", []):
                descendant = descendant.get_object()
                if "/FontDescriptor" in descendant:
                    descriptors.append(descendant["/FontDescriptor"].get_object())
            for d in descriptors:
                found += 1
                if not any(k in d for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    return False, found
    return True, found


def main(path):
    reader = PdfReader(path, strict=True)
    root = reader.trailer["/Root"].get_object()
    attachments = []
    names = root.get("/Names", {}).get_object().get("/EmbeddedFiles", {}).get_object().get("/Names", [])
    for i in range(0, len(names), 2):
        spec = names[i + 1].get_object()
        stream = spec["/EF"]["/F"].get_object()
        attachments.append(
            {
                "name": str(names[i]),
                "relationship": str(spec.get("/AFRelationship")),
                "subtype": str(stream.get("/Subtype")),
                "size": len(stream.get_data()),
            }
        )
    af = [str(x.get_object().get("/F")) for x in (root["/AF"].get_object() if "/AF" in root else [])]
    xmp_bytes = root["/Metadata"].get_object().get_data()
    xmp = etree.fromstring(xmp_bytes)
    def prop(ns, name):
        nodes = xmp.findall(f".//{{{ns}}}{name}")
        if nodes:
            return nodes[0].text
        for d in xmp.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"):
            value = d.get(f"{{{ns}}}{name}")
            if value is not None:
                return value
        return None
    schemas = [n.text for n in xmp.iter(f"{{{PDFA_SCHEMA}}}namespaceURI")]
    embedded, font_count = fonts_embedded(reader)
    box = reader.pages[0].mediabox
    print(
        json.dumps(
            {
                "pages": len(reader.pages),
                "page_size": [round(float(box.width)), round(float(box.height))],
                "text": "\n".join(p.extract_text() for p in reader.pages),
                "attachments": attachments,
                "af": af,
                "pdfa_part": prop(PDFAID, "part"),
                "pdfa_conformance": prop(PDFAID, "conformance"),
                "fx": {k: prop(FX, k) for k in ("DocumentType", "DocumentFileName", "Version", "ConformanceLevel")},
                "extension_schemas": schemas,
                "output_intents": len(root["/OutputIntents"].get_object()) if "/OutputIntents" in root else 0,
                "fonts": font_count,
                "fonts_embedded": embedded,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
