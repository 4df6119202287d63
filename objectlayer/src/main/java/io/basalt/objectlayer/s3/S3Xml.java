package io.basalt.objectlayer.s3;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLOutputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;
import javax.xml.stream.XMLStreamWriter;

/** S3's XML bodies, written with StAX (which escapes) and the one parsed request body (DeleteObjects). */
final class S3Xml {
    static final String NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";
    /** Timestamps in listings: ISO 8601 with milliseconds, as S3 writes them. */
    static final DateTimeFormatter ISO_MILLIS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);
    /** DeleteObjects takes at most 1000 keys. */
    static final int DELETE_KEYS_MAX = 1000;
    private static final XMLOutputFactory OUTPUT = XMLOutputFactory.newFactory();
    private static final XMLInputFactory INPUT = secureInput();

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(1024);
    private final XMLStreamWriter w;

    /** Starts a document whose root element is {@code root} in S3's namespace. */
    S3Xml(String root, boolean namespaced) {
        try {
            w = OUTPUT.createXMLStreamWriter(bytes, "UTF-8");
            w.writeStartDocument("UTF-8", "1.0");
            w.writeStartElement(root);
            if (namespaced) {
                w.writeDefaultNamespace(NAMESPACE);
            }
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
    }

    S3Xml start(String name) {
        try {
            w.writeStartElement(name);
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
        return this;
    }

    S3Xml end() {
        try {
            w.writeEndElement();
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
        return this;
    }

    /** {@code <name>text</name>}; nothing when text is null. */
    S3Xml element(String name, Object text) {
        if (text == null) {
            return this;
        }
        try {
            w.writeStartElement(name);
            w.writeCharacters(text.toString());
            w.writeEndElement();
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
        return this;
    }

    byte[] finish() {
        try {
            w.writeEndDocument();
            w.close();
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
        return bytes.toByteArray();
    }

    /** Ends a document whose root holds only text. */
    byte[] finishWithText(String text) {
        try {
            w.writeCharacters(text);
        } catch (XMLStreamException e) {
            throw new IllegalStateException(e);
        }
        return finish();
    }

    static String isoMillis(long epochMs) {
        return ISO_MILLIS.format(Instant.ofEpochMilli(epochMs));
    }

    static byte[] error(String code, String message, String resource, String requestId) {
        return new S3Xml("Error", false).element("Code", code).element("Message", message)
                .element("Resource", resource).element("RequestId", requestId).finish();
    }

    /** A DeleteObjects request: the keys and whether the answer lists only the failures. */
    record DeleteRequest(List<String> keys, boolean quiet) {}

    static DeleteRequest parseDelete(byte[] body) throws S3Error {
        List<String> keys = new ArrayList<>();
        boolean quiet = false;
        try {
            XMLStreamReader r = INPUT.createXMLStreamReader(new ByteArrayInputStream(body));
            String element = null;
            StringBuilder text = new StringBuilder();
            while (r.hasNext()) {
                int event = r.next();
                if (event == XMLStreamConstants.START_ELEMENT) {
                    element = r.getLocalName();
                    text.setLength(0);
                } else if (event == XMLStreamConstants.CHARACTERS || event == XMLStreamConstants.CDATA) {
                    text.append(r.getText());
                } else if (event == XMLStreamConstants.END_ELEMENT) {
                    if ("Key".equals(r.getLocalName())) {
                        keys.add(text.toString());
                    } else if ("Quiet".equals(r.getLocalName())) {
                        quiet = Boolean.parseBoolean(text.toString().trim());
                    }
                    element = null;
                    text.setLength(0);
                } else if (event == XMLStreamConstants.DTD || event == XMLStreamConstants.ENTITY_REFERENCE) {
                    throw S3Error.malformedXml();
                }
            }
            r.close();
            if (element != null) {
                throw S3Error.malformedXml();
            }
        } catch (XMLStreamException e) {
            throw S3Error.malformedXml();
        }
        if (keys.isEmpty() || keys.size() > DELETE_KEYS_MAX) {
            throw S3Error.malformedXml();
        }
        return new DeleteRequest(keys, quiet);
    }

    /**
     * A small request body's elements in document order, as {name, text} at each end tag (text empty for an element
     * that held others): enough for S3's flat request documents (Tagging, CompleteMultipartUpload). MalformedXML when
     * not well-formed or with a DTD or entity reference.
     */
    static List<String[]> elements(byte[] body) throws S3Error {
        List<String[]> out = new ArrayList<>();
        try {
            XMLStreamReader r = INPUT.createXMLStreamReader(new ByteArrayInputStream(body));
            StringBuilder text = new StringBuilder();
            int depth = 0;
            while (r.hasNext()) {
                int event = r.next();
                if (event == XMLStreamConstants.START_ELEMENT) {
                    depth++;
                    text.setLength(0);
                } else if (event == XMLStreamConstants.CHARACTERS || event == XMLStreamConstants.CDATA) {
                    text.append(r.getText());
                } else if (event == XMLStreamConstants.END_ELEMENT) {
                    depth--;
                    out.add(new String[] {r.getLocalName(), text.toString()});
                    text.setLength(0);
                } else if (event == XMLStreamConstants.DTD || event == XMLStreamConstants.ENTITY_REFERENCE) {
                    throw S3Error.malformedXml();
                }
            }
            r.close();
            if (depth != 0 || out.isEmpty()) {
                throw S3Error.malformedXml();
            }
        } catch (XMLStreamException e) {
            throw S3Error.malformedXml();
        }
        return out;
    }

    /** No DTDs, no external entities: a request body is hostile (XXE). */
    private static XMLInputFactory secureInput() {
        XMLInputFactory f = XMLInputFactory.newFactory();
        f.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        f.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        f.setProperty(XMLInputFactory.IS_REPLACING_ENTITY_REFERENCES, false);
        return f;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
