/**
 * A minimal, offset-recording XML tag scanner. procd reads CIBs with fast-xml-parser, but it
 * WRITES them by splicing the original text, so that every byte it does not mean to change —
 * attribute order, quoting, whitespace, comments — stays exactly as it was. This scanner finds
 * where elements and attribute values are. It expects text that XMLValidator already accepted.
 */
export interface XmlAttr {
  name: string;
  /** Raw value as written (entities not decoded). */
  raw: string;
  /** Offsets of the value between the quotes. */
  valueStart: number;
  valueEnd: number;
}

export interface XmlElement {
  name: string;
  attrs: XmlAttr[];
  /** Offset of `<` of the start tag. */
  start: number;
  /** Offset just after `>` of the start tag. */
  openEnd: number;
  selfClosing: boolean;
  /** Offset of `</` of the end tag (= openEnd for a self-closing element). */
  closeStart: number;
  /** Offset just after the element (after `/>` or the end tag's `>`). */
  end: number;
  children: XmlElement[];
  parent: XmlElement | null;
}

const NAME_END = /[\s/>]/;

export function scanXml(text: string): XmlElement {
  const top: XmlElement = { name: '#document', attrs: [], start: 0, openEnd: 0, selfClosing: false, closeStart: text.length, end: text.length, children: [], parent: null };
  let cur = top;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      i = text.indexOf('-->', lt + 4) + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      i = text.indexOf(']]>', lt + 9) + 3;
    } else if (text.startsWith('<?', lt)) {
      i = text.indexOf('?>', lt + 2) + 2;
    } else if (text.startsWith('<!', lt)) {
      // DOCTYPE, possibly with an internal subset [...]
      let j = lt + 2;
      let depth = 0;
      for (; j < n; j++) {
        const c = text[j];
        if (c === '[') depth++;
        else if (c === ']') depth--;
        else if (c === '>' && depth <= 0) break;
      }
      i = j + 1;
    } else if (text[lt + 1] === '/') {
      const gt = text.indexOf('>', lt);
      cur.closeStart = lt;
      cur.end = gt + 1;
      cur = cur.parent ?? top;
      i = gt + 1;
    } else {
      let j = lt + 1;
      while (j < n && !NAME_END.test(text[j]!)) j++;
      const el: XmlElement = { name: text.slice(lt + 1, j), attrs: [], start: lt, openEnd: 0, selfClosing: false, closeStart: 0, end: 0, children: [], parent: cur };
      for (;;) {
        while (j < n && /\s/.test(text[j]!)) j++;
        const c = text[j];
        if (c === '>') {
          el.openEnd = j + 1;
          break;
        }
        if (c === '/' && text[j + 1] === '>') {
          el.openEnd = j + 2;
          el.selfClosing = true;
          break;
        }
        const eq = text.indexOf('=', j);
        if (eq < 0) throw new Error(`unterminated start tag <${el.name}`);
        const name = text.slice(j, eq).trim();
        let q = eq + 1;
        while (/\s/.test(text[q]!)) q++;
        const quote = text[q]!;
        const close = text.indexOf(quote, q + 1);
        if (close < 0) throw new Error(`unterminated attribute ${name} of <${el.name}`);
        el.attrs.push({ name, raw: text.slice(q + 1, close), valueStart: q + 1, valueEnd: close });
        j = close + 1;
      }
      cur.children.push(el);
      if (el.selfClosing) {
        el.closeStart = el.openEnd;
        el.end = el.openEnd;
      } else {
        cur = el;
      }
      i = el.openEnd;
    }
  }
  return top;
}

export function attr(el: XmlElement, name: string): string | undefined {
  const a = el.attrs.find((x) => x.name === name);
  return a === undefined ? undefined : decodeXml(a.raw);
}

export function child(el: XmlElement, name: string, pred: (e: XmlElement) => boolean = () => true): XmlElement | undefined {
  return el.children.find((c) => c.name === name && pred(c));
}

/** Decodes the five predefined entities and character references; nothing else is ever expanded. */
export function decodeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    switch (e) {
      case 'amp': return '&';
      case 'lt': return '<';
      case 'gt': return '>';
      case 'quot': return '"';
      case 'apos': return "'";
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/** Escapes a value for a double-quoted attribute. */
export function encodeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

/** The whitespace that starts the line an element is on (its indentation). */
export function indentOf(text: string, el: XmlElement): string {
  const nl = text.lastIndexOf('\n', el.start - 1);
  const lead = text.slice(nl + 1, el.start);
  return /^[ \t]*$/.test(lead) ? lead : '';
}

/** A splice: replace text[from, to) with `insert`. */
export interface Edit {
  from: number;
  to: number;
  insert: string;
}

export function applyEdit(text: string, e: Edit): string {
  return text.slice(0, e.from) + e.insert + text.slice(e.to);
}

/** Sets an existing attribute's value; null when the element has no such attribute. */
export function setAttrEdit(el: XmlElement, name: string, value: string): Edit | null {
  const a = el.attrs.find((x) => x.name === name);
  return a ? { from: a.valueStart, to: a.valueEnd, insert: encodeAttr(value) } : null;
}

/**
 * Inserts `xml` (one element, possibly several lines with relative indentation) as the last
 * child of `parent`, indented like its siblings (or one step deeper than the parent).
 */
export function appendChildEdit(text: string, parent: XmlElement, xml: string): Edit {
  const pInd = indentOf(text, parent);
  const last = parent.children[parent.children.length - 1];
  const step = (last ? indentOf(text, last).slice(pInd.length) : '') || guessStep(text);
  const ind = pInd + step;
  const body = xml.split('\n').map((l, k) => (k === 0 ? l : ind + l)).join('\n');
  if (last) return { from: last.end, to: last.end, insert: `\n${ind}${body}` };
  if (parent.selfClosing) {
    // <status/> becomes <status>\n  child\n</status>
    let slash = parent.openEnd - 2;
    while (slash > parent.start && /\s/.test(text[slash - 1]!)) slash--;
    return { from: slash, to: parent.openEnd, insert: `>\n${ind}${body}\n${pInd}</${parent.name}>` };
  }
  const inner = text.slice(parent.openEnd, parent.closeStart);
  if (/^\s*$/.test(inner)) return { from: parent.openEnd, to: parent.closeStart, insert: `\n${ind}${body}\n${pInd}` };
  return { from: parent.closeStart, to: parent.closeStart, insert: body };
}

/** Removes an element, and the line it stood on when it stood alone on it. */
export function removeEdit(text: string, el: XmlElement): Edit {
  const nl = text.lastIndexOf('\n', el.start - 1);
  const alone = nl >= 0 && /^[ \t]*$/.test(text.slice(nl + 1, el.start));
  return { from: alone ? nl : el.start, to: el.end, insert: '' };
}

/** The indentation step of the document (the first indented line's), default two spaces. */
function guessStep(text: string): string {
  const m = /\n([ \t]+)</.exec(text);
  return m ? m[1]! : '  ';
}
