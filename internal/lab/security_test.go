package lab

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// securityDoc is the table of topics and their standards.
const securityDoc = "docs/SECURITY.md"

// Limits of a SECURITY comment: one or two short sentences.
const (
	maxSecurityChars = 250 // the text after "SECURITY(topic): ", lines joined
	maxSecurityLine  = 100 // one comment line, without its indentation
)

// pendingShorten lists SECURITY comments, by the start of their first
// line, that are still long or carry a link, in files this change could
// not edit. Remove an entry once its comment is short; the test fails on
// an entry that no longer matches a long comment.
var pendingShorten = []string{}

// securityTag is a tag at the start of a comment line. A mention inside
// prose (`// SECURITY(topic):` in a doc comment) is not a tag.
var securityTag = regexp.MustCompile(`^\s*SECURITY\(([^)]*)\):\s*`)

// standardNamed is how a SECURITY comment names the requirement it meets.
var standardNamed = regexp.MustCompile(`ASVS 5\.0 \d+\.\d+\.\d+|RFC \d{3,5}|NIST SP 800-|CWE-\d+|CIS [A-Z]|OWASP [A-Z]`)

// asvsList is "ASVS 5.0 " and the requirement ids that follow it:
// "7.4.2, 7.4.3", "3.3.1–3.3.4", "3.4.1 and 3.4.3".
var asvsList = regexp.MustCompile(`ASVS 5\.0 (\d+\.\d+\.\d+(?:–\d+\.\d+\.\d+)?(?:(?:, | and )\d+\.\d+\.\d+(?:–\d+\.\d+\.\d+)?)*)`)

// asvsID is one requirement id, or a range of them within one section.
var asvsID = regexp.MustCompile(`(\d+)\.(\d+)\.(\d+)(?:–(\d+)\.(\d+)\.(\d+))?`)

// securityComment is one SECURITY(topic) paragraph: the tag's line and the
// comment lines after it, up to a blank comment line, another tag or the
// end of the comment.
type securityComment struct {
	file, where string   // file relative to the repository's root; file:line
	topic       string   //
	text        string   // after "SECURITY(topic): ", lines joined with spaces
	lines       []string // the paragraph's lines as written, markers removed
}

type commentLine struct {
	text string
	line int
}

// securityComments reads every SECURITY comment of the repository: in Go
// files through go/parser, and in the Dockerfile, Compose, Caddy and shell
// files as # comments.
func securityComments(t *testing.T) []securityComment {
	t.Helper()
	var out []securityComment
	fset := token.NewFileSet()
	goCount := 0
	for _, path := range goFiles(t) {
		rel := relPath(path)
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		goCount++
		for _, group := range f.Comments {
			var lines []commentLine
			for _, c := range group.List {
				for i, l := range commentLines(c.Text) {
					lines = append(lines, commentLine{l, fset.Position(c.Slash).Line + i})
				}
			}
			out = append(out, securityParagraphs(rel, lines)...)
		}
	}
	if goCount < 50 {
		t.Fatalf("only %d Go files found under %s: is the walk wrong?", goCount, repoRoot)
	}
	for _, path := range hashCommentFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var group []commentLine
		flush := func() {
			out = append(out, securityParagraphs(relPath(path), group)...)
			group = nil
		}
		for i, l := range strings.Split(string(b), "\n") {
			if text, ok := strings.CutPrefix(strings.TrimSpace(l), "#"); ok {
				group = append(group, commentLine{text, i + 1})
				continue
			}
			flush()
		}
		flush()
	}
	return out
}

// securityParagraphs cuts one comment's lines into SECURITY paragraphs.
func securityParagraphs(file string, lines []commentLine) []securityComment {
	var out []securityComment
	for i := 0; i < len(lines); i++ {
		m := securityTag.FindStringSubmatch(lines[i].text)
		if m == nil {
			continue
		}
		c := securityComment{file: file, where: fmt.Sprintf("%s:%d", file, lines[i].line), topic: m[1]}
		words := []string{strings.TrimSpace(lines[i].text[len(m[0]):])}
		c.lines = append(c.lines, strings.TrimSpace(lines[i].text))
		for j := i + 1; j < len(lines); j++ {
			l := strings.TrimSpace(lines[j].text)
			if l == "" || securityTag.MatchString(l) {
				break
			}
			words = append(words, l)
			c.lines = append(c.lines, l)
			i = j
		}
		c.text = strings.Join(words, " ")
		out = append(out, c)
	}
	return out
}

// hashCommentFiles lists the files whose comments start with #.
func hashCommentFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != repoRoot && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".yml", ".yaml", ".sh", ".toml":
			out = append(out, path)
			return nil
		}
		if name == "Dockerfile" || name == "Caddyfile" || name == "Makefile" {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func relPath(path string) string {
	return filepath.ToSlash(strings.TrimPrefix(path, repoRoot+string(filepath.Separator)))
}

// securityRow is one row of docs/SECURITY.md's table.
type securityRow struct {
	page string          // "/practices/cookie", or "" for a topic no page covers
	asvs map[string]bool // the ASVS 5.0 requirement ids of the row
	text string          // the whole row
	line int
}

var rowTopic = regexp.MustCompile("^\\| `([a-z-]+)` \\|")

// securityDocRows reads the table of docs/SECURITY.md: | `topic` | page |
// ASVS 5.0 ids | references |.
func securityDocRows(t *testing.T) map[string]securityRow {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, securityDoc))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]securityRow{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := rowTopic.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 4 {
			t.Errorf("%s:%d: want 4 cells (topic, page, ASVS 5.0, references), got %d", securityDoc, n, len(cells))
			continue
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("%s:%d: a second row for %q", securityDoc, n, m[1])
		}
		row := securityRow{asvs: map[string]bool{}, text: line, line: n}
		if p, ok := strings.CutPrefix(cells[1], "`/practices/"); ok {
			row.page = "/practices/" + strings.TrimSuffix(p, "`")
		} else if !strings.HasPrefix(cells[1], "—") {
			t.Errorf("%s:%d: the page cell is `/practices/{slug}` or starts with —, not %q", securityDoc, n, cells[1])
		}
		for _, id := range expandASVS(cells[2]) {
			row.asvs[id] = true
		}
		rows[m[1]] = row
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) < len(Practices) {
		t.Fatalf("%s: %d topic rows, fewer than the %d practices: is the table's format wrong?", securityDoc, len(rows), len(Practices))
	}
	return rows
}

// expandASVS returns the requirement ids s names, ranges written out:
// "3.3.1–3.3.3, 7.3.1" is 3.3.1, 3.3.2, 3.3.3 and 7.3.1.
func expandASVS(s string) []string {
	var out []string
	for _, m := range asvsID.FindAllStringSubmatch(s, -1) {
		if m[4] == "" || m[4] != m[1] || m[5] != m[2] {
			out = append(out, m[1]+"."+m[2]+"."+m[3])
			if m[4] != "" {
				out = append(out, m[4]+"."+m[5]+"."+m[6])
			}
			continue
		}
		from, _ := strconv.Atoi(m[3])
		to, _ := strconv.Atoi(m[6])
		for i := from; i <= to; i++ {
			out = append(out, m[1]+"."+m[2]+"."+strconv.Itoa(i))
		}
	}
	return out
}

// namedASVS returns the ASVS 5.0 requirement ids a text names.
func namedASVS(text string) []string {
	var out []string
	for _, m := range asvsList.FindAllStringSubmatch(text, -1) {
		out = append(out, expandASVS(m[1])...)
	}
	return out
}

// problemsOf says what keeps a SECURITY comment from being one or two
// short sentences that name their standard.
func problemsOf(c securityComment) []string {
	var p []string
	if n := len([]rune(c.text)); n > maxSecurityChars {
		p = append(p, fmt.Sprintf("%d characters, more than %d: keep the why in the comment above and one or two sentences here", n, maxSecurityChars))
	}
	for _, l := range c.lines {
		if n := len([]rune(l)); n > maxSecurityLine {
			p = append(p, fmt.Sprintf("a line of %d characters, more than %d: wrap it", n, maxSecurityLine))
			break
		}
	}
	if strings.Contains(c.text, "://") {
		p = append(p, "a link: name the requirement, and put the link in "+securityDoc)
	}
	if !standardNamed.MatchString(c.text) {
		p = append(p, `no standard named: end with the requirement, e.g. "— ASVS 5.0 7.2.4."`)
	}
	return p
}

// Every SECURITY comment is one or two short sentences, names the
// requirement it meets, and carries no link: the links are in
// docs/SECURITY.md, once.
func TestSecurityComments_AreShortAndNameTheirStandard(t *testing.T) {
	pendingSeen := map[string]bool{}
	checked := 0
	for _, c := range securityComments(t) {
		checked++
		problems := problemsOf(c)
		pending := ""
		for _, prefix := range pendingShorten {
			if strings.HasPrefix(c.lines[0], prefix) {
				pending = prefix
			}
		}
		if pending != "" {
			pendingSeen[pending] = true
		}
		switch {
		case pending != "" && len(problems) == 0:
			t.Errorf("%s: short now: remove %q from pendingShorten", c.where, pending)
		case pending != "":
		case len(problems) > 0:
			t.Errorf("%s: SECURITY(%s): %s", c.where, c.topic, strings.Join(problems, "; "))
		}
	}
	for _, prefix := range pendingShorten {
		if !pendingSeen[prefix] {
			t.Errorf("pendingShorten: no SECURITY comment starts with %q any more: remove the entry", prefix)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d SECURITY comments found: is the parsing wrong?", checked)
	}
	t.Logf("%d SECURITY comments, %d of them waiting in pendingShorten", checked, len(pendingSeen))
}

// docs/SECURITY.md's row of each topic lists every ASVS 5.0 requirement
// the topic's comments name, and each practice page's standard and link.
func TestSecurityDoc_ListsWhatTheCommentsAndPagesCite(t *testing.T) {
	rows := securityDocRows(t)
	for _, c := range securityComments(t) {
		row, ok := rows[c.topic]
		if !ok {
			continue // TestSecurityTags_NameAPracticeSlug reports it
		}
		for _, id := range namedASVS(c.text) {
			if !row.asvs[id] {
				t.Errorf("%s: SECURITY(%s) names ASVS 5.0 %s, which %s:%d does not list", c.where, c.topic, id, securityDoc, row.line)
			}
		}
	}
	for _, p := range Practices {
		row, ok := rows[p.Slug]
		if !ok {
			t.Errorf("%s: no row for the practice %q", securityDoc, p.Slug)
			continue
		}
		ids := namedASVS(p.Standard)
		if len(ids) == 0 {
			t.Errorf("practice %s: its standard %q names no ASVS 5.0 requirement", p.Slug, p.Standard)
		}
		for _, id := range ids {
			if !row.asvs[id] {
				t.Errorf("%s:%d: the %s page cites ASVS 5.0 %s; list it in the row", securityDoc, row.line, p.Slug, id)
			}
		}
		if !strings.Contains(row.text, "("+p.Link+")") {
			t.Errorf("%s:%d: the %s page links %s; link it in the row", securityDoc, row.line, p.Slug, p.Link)
		}
	}
}

// The checks above read what they are meant to read, and refuse what they
// are meant to refuse.
func TestSecurityCommentChecks(t *testing.T) {
	got := securityParagraphs("x.go", []commentLine{
		{"f does this.", 1},
		{"", 2},
		{" SECURITY(csrf): one sentence", 3},
		{" that goes on — ASVS 5.0 3.5.1, 3.5.3.", 4},
		{" SECURITY(cookie): another — ASVS 5.0 3.3.1–3.3.3.", 5},
		{"", 6},
		{"Not part of it.", 7},
		{"A mention of SECURITY(logout): in prose is no tag.", 8},
	})
	if len(got) != 2 || got[0].topic != "csrf" || got[0].text != "one sentence that goes on — ASVS 5.0 3.5.1, 3.5.3." || got[0].where != "x.go:3" ||
		got[1].topic != "cookie" || got[1].text != "another — ASVS 5.0 3.3.1–3.3.3." {
		t.Fatalf("paragraphs: %+v", got)
	}
	if ids := namedASVS(got[0].text + " " + got[1].text); !slices.Equal(ids, []string{"3.5.1", "3.5.3", "3.3.1", "3.3.2", "3.3.3"}) {
		t.Errorf("named ids: %v", ids)
	}
	if ids := namedASVS("ASVS 5.0 3.4.1 and 3.4.3–3.4.5; RFC 6797 §8.1 and 7.1.1"); !slices.Equal(ids, []string{"3.4.1", "3.4.3", "3.4.4", "3.4.5"}) {
		t.Errorf("named ids: %v", ids)
	}
	for _, c := range got {
		if p := problemsOf(c); len(p) > 0 {
			t.Errorf("%q: %v", c.text, p)
		}
	}
	for _, text := range []string{
		"a decision with no standard named.",
		"a decision — https://cheatsheetseries.owasp.org/x.html, ASVS 5.0 7.2.4.",
		strings.Repeat("far too long ", 20) + "— ASVS 5.0 7.2.4.",
	} {
		c := securityComment{text: text, lines: []string{"SECURITY(x): " + text}}
		if len(problemsOf(c)) == 0 {
			t.Errorf("%q passed", text)
		}
	}
}
