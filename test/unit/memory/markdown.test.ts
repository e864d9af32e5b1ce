import { describe, expect, it } from 'vitest';
import { extractHeadings, parseNote, renderNote, splitFrontmatter } from '../../../lib/memory/markdown.js';

describe('frontmatter', () => {
  it('reads title and tags (flow list) and strips the block from the body', () => {
    const n = parseNote('---\ntitle: JWT tokens\ntags: [auth, jwt]\n---\n\n# Heading\nBody text.\n', 'a/b.md');
    expect(n.title).toBe('JWT tokens');
    expect(n.tags).toEqual(['auth', 'jwt']);
    expect(n.body).toBe('\n# Heading\nBody text.\n');
    expect(n.headings).toEqual(['Heading']);
    expect(n.frontmatterError).toBeUndefined();
  });

  it('accepts block lists, comma-separated tag strings, numbers, CRLF, a BOM and a `...` closing fence', () => {
    expect(parseNote('---\ntags:\n  - a\n  - 7\n---\nx').tags).toEqual(['a', '7']);
    expect(parseNote('---\ntags: "db, postgres ,  "\n---\nx').tags).toEqual(['db', 'postgres']);
    const crlf = parseNote('\ufeff---\r\ntitle: Windows\r\n...\r\nbody\r\n');
    expect(crlf.title).toBe('Windows');
    expect(crlf.body).toBe('body\n');
  });

  it('keeps the claw_id curate writes', () => {
    expect(parseNote('---\nclaw_id: 0123456789abcdef01234567\n---\nx').id).toBe('0123456789abcdef01234567');
  });

  it('treats an unclosed or non-first-line fence as body', () => {
    expect(splitFrontmatter('---\ntitle: x\nno closing fence\n')).toEqual({
      yaml: undefined,
      body: '---\ntitle: x\nno closing fence\n',
    });
    expect(splitFrontmatter('intro\n---\ntitle: x\n---\n').yaml).toBeUndefined();
  });

  it('ignores invalid YAML (reporting it) and falls back to the first heading for the title', () => {
    const n = parseNote('---\ntitle: [unclosed\n---\n# Real title\ntext', 'x.md');
    expect(n.frontmatterError).toBeTruthy();
    expect(n.title).toBe('Real title');
    expect(n.body).toBe('# Real title\ntext');
    const list = parseNote('---\n- a\n- b\n---\nbody', 'dir/list-note.md');
    expect(list.frontmatterError).toMatch(/expected a YAML mapping, found a list/);
    expect(list.title).toBe('list-note');
  });

  it('title: frontmatter, else first H1 (even after an H2), else first heading, else the file name', () => {
    expect(parseNote('## Sub\n# Main\n', 'f.md').title).toBe('Main');
    expect(parseNote('### Only h3\n', 'f.md').title).toBe('Only h3');
    expect(parseNote('no headings at all', 'notes/deploy-checklist.md').title).toBe('deploy-checklist');
  });
});

describe('headings', () => {
  it('reads ATX headings of every level, strips closing hashes, skips fenced code and non-headings', () => {
    const md = [
      '# One',
      '  ## Two ##',
      '###### Six',
      '####### seven is not a heading',
      '#hashtag is not a heading',
      '```sh',
      '# a shell comment',
      '```',
      '~~~~',
      '## inside tilde fence',
      '~~~',
      '## still inside (shorter closing fence)',
      '~~~~',
      '    # indented four: code, not heading',
      '## After fences',
    ].join('\n');
    expect(extractHeadings(md)).toEqual([
      { level: 1, text: 'One' },
      { level: 2, text: 'Two' },
      { level: 6, text: 'Six' },
      { level: 2, text: 'After fences' },
    ]);
  });
});

describe('renderNote', () => {
  it('writes frontmatter that parses back to the same fields', () => {
    const text = renderNote(
      {
        id: 'abcdef0123456789abcdef01',
        title: 'Deploys: blue/green',
        tags: ['deploy', 'ci: cd'],
        created: '2025-01-02T03:04:05.000Z',
      },
      'Body line',
    );
    const n = parseNote(text);
    expect(n.title).toBe('Deploys: blue/green');
    expect(n.tags).toEqual(['deploy', 'ci: cd']);
    expect(n.id).toBe('abcdef0123456789abcdef01');
    expect(n.frontmatter.created).toBe('2025-01-02T03:04:05.000Z');
    expect(n.body).toBe('\nBody line\n');
  });
});

describe('fast frontmatter path', () => {
  it('agrees with the YAML parser wherever it answers, and declines everything else', async () => {
    const { parse } = await import('yaml');
    const { fastFrontmatter } = await import('../../../lib/memory/markdown.js');
    const lines = [
      'title: JWT session tokens',
      'title: Deploys at 10:30',
      'title: a #not-comment',
      'title: a # comment',
      'title: "quoted"',
      "title: 'single'",
      'title: 123',
      'title: 1e3',
      'title: true',
      'title: Yes',
      'title: null',
      'title: ~',
      'title: - dash',
      'title: key: value',
      'title: 0x1f',
      'title: .5',
      'title: trailing   ',
      'title:',
      'tags: [auth, jwt, security]',
      'tags: []',
      'tags: [a, "b"]',
      'tags: [a, [b]]',
      'tags: [true, x]',
      'tags: [ci: cd]',
      'claw_id: 0123456789abcdef01234567',
      'claw_id: 123456789012345678901234',
      'created: 2025-06-01T12:00:00.000Z',
      'weird key: x',
      '  indented: x',
    ];
    let answered = 0;
    for (const a of lines) {
      for (const b of ['tags: [x]', 'owner: ops team']) {
        const src = `${a}\n${b}`;
        const fast = fastFrontmatter(src);
        if (fast === undefined) continue;
        answered++;
        expect(fast, src).toEqual(parse(src));
      }
    }
    expect(answered).toBeGreaterThan(10);
    expect(fastFrontmatter('title: x\ntitle: y')).toBeUndefined(); // duplicate keys: YAML decides
    expect(fastFrontmatter('tags:\n  - a')).toBeUndefined();
  });
});

describe('lenient frontmatter (hand-edited notes that are not valid YAML)', () => {
  it('an unquoted colon in a title still yields the title, with the YAML error kept as a warning', () => {
    const n = parseNote(
      '---\ntitle: Deploy: blue/green\ntags: [ops, deploy]\nclaw_id: abc12345\n---\n# H1\nbody',
      'x.md',
    );
    expect(n.frontmatterError).toBeTruthy();
    expect(n.title).toBe('Deploy: blue/green');
    expect(n.tags).toEqual(['ops', 'deploy']);
    expect(n.id).toBe('abc12345');
  });

  it('quoted values lose one pair of quotes; unclosed YAML syntax is not guessed at', () => {
    expect(parseNote('---\ntitle: "A: b" c: d\nx: [\n---\n# T\n', 'x.md').title).toBe('"A: b" c: d');
    expect(parseNote("---\ntitle: 'A: b'\nbad: [\n---\n# T\n", 'x.md').title).toBe('A: b');
    expect(parseNote('---\ntitle: [unclosed: x\n---\n# Real\n', 'x.md').title).toBe('Real');
    expect(parseNote('---\ntitle: a: b\ntags: one, two\n---\n', 'x.md').tags).toEqual(['one', 'two']);
  });
});

describe('hostile notes (issue 13): parsing is linear at the 1,000,000-character curate limit', () => {
  // Before: `(.*?)` followed by `[ \t]*$` backtracked over every run of blanks — O(n²) per line (a
  // 40,000-blank heading took 5 s), and O(n³) in a frontmatter line with a stray \r (10,000 blanks:
  // 6 minutes). Each input here is 1,000,000 characters: quadratic work would not finish.
  const N = 1_000_000;
  const blanks = (prefix: string, suffix: string): string =>
    prefix + ' '.repeat(N - prefix.length - suffix.length) + suffix;

  it('a heading line of blanks ending in text', () => {
    expect(extractHeadings(blanks('# a', 'b'))).toEqual([{ level: 1, text: `a${' '.repeat(N - 4)}b` }]);
    expect(extractHeadings(blanks('# a', ' #\t'))).toEqual([{ level: 1, text: 'a' }]);
  });

  it('a frontmatter line of blanks, with and without a stray \\r', () => {
    const plain = parseNote(`---\n${blanks('title: b', 'c')}\n---\nbody`);
    expect(plain.title).toBe(`b${' '.repeat(N - 9)}c`);
    const cr = parseNote(`---\n${blanks('title:', '\r')}x\n---\nbody`);
    expect(cr.body).toBe('body');
  });

  it('many short hostile lines', () => {
    const unit = '# a   \t  b  \ntitle:    \r  \n';
    const text = `---\n${unit.repeat(N / unit.length / 10)}---\n${unit.repeat(N / unit.length / 2)}`;
    const n = parseNote(text);
    expect(n.headings.length).toBeGreaterThan(1000);
  });
});

describe('lenient frontmatter is linear too (issue 13)', () => {
  it('a title line of 1,000,000 blanks, with and without a stray \\r', async () => {
    const { lenientFrontmatter } = await import('../../../lib/memory/markdown.js');
    expect(lenientFrontmatter(`title: a${' '.repeat(1_000_000)}b`).title).toBe(`a${' '.repeat(1_000_000)}b`);
    expect(lenientFrontmatter(`title: a${' '.repeat(1_000_000)}`).title).toBe('a');
    expect(() => lenientFrontmatter(`title:${' '.repeat(1_000_000)}\r`)).not.toThrow(); // O(n³) before
  });
});

describe('noteHeader (what ContextTree parses of a note it reads)', () => {
  it('gives the claw_id and the frontmatter error exactly as parseNote, reading only the frontmatter', async () => {
    const { noteHeader } = await import('../../../lib/memory/markdown.js');
    const cases = [
      '---\ntitle: A\nclaw_id: abcdef12\n---\n# Body\n',
      '\ufeff---\r\nclaw_id: "quoted-id-1"\r\n---\r\ntext',
      '---\ntitle: Deploy: blue/green\nclaw_id: abc12345\n---\n# H\n',
      '---\n- a\n- b\n---\nbody',
      '# no frontmatter\nclaw_id: not-this\n',
      '---\ntitle: never closed\n',
      '---\n---\nempty',
    ];
    for (const text of cases) {
      const full = parseNote(text, 'x.md');
      expect(noteHeader(text)).toEqual({ id: full.id, frontmatterError: full.frontmatterError });
    }
  });
});
