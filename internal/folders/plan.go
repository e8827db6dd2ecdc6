package folders

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// Plan maps the source folder list onto the target's: which target folder
// each source folder becomes, which target folders must be created first,
// what is excluded and why. target is the target's folder list and
// targetDelim its hierarchy delimiter (0 for a flat server). The rules are
// in the package documentation.
//
// The result is ordered parents before children, INBOX first, then by
// name; creating folders in that order never needs a server to create
// missing parents.
//
// An invalid option is an error and no plan. Source folders that would become
// the same target folder are reported as one *CollisionError each (joined
// with errors.Join), and the plan is returned all the same so that a dry run
// can show it; it must not be carried out.
func Plan(source, target []Folder, targetDelim rune, opts Options) ([]Mapping, error) {
	p, err := newPlanner(target, targetDelim, opts)
	if err != nil {
		return nil, err
	}
	p.collect(source)
	p.exclude()
	for _, e := range p.entries {
		e.tp = p.naturalTarget(e.path)
		if p.inboxNote != "" && len(e.path) > 1 && e.path[0] == "INBOX" {
			e.m.Note = p.inboxNote
		}
	}
	p.assignSpecialUses()
	p.reroot()
	for _, e := range p.entries {
		if !e.remapped {
			e.m.Target = p.render(e.tp)
		}
	}
	p.addParents()
	p.setCreate()
	err = p.collisions()

	for _, e := range p.entries {
		e.key = strings.Split(canonInbox(e.m.Target, p.delim), p.sep)
	}
	slices.SortStableFunc(p.entries, compareEntries)
	out := make([]Mapping, len(p.entries))
	for i, e := range p.entries {
		out[i] = e.m
	}
	return out, err
}

// tpath is a target folder below the target's root: either below INBOX
// (inbox set; no levels for INBOX itself) or below the personal namespace
// prefix. Levels are escaped.
type tpath struct {
	inbox bool
	segs  []string
}

func (t tpath) child(segs ...string) tpath {
	return tpath{inbox: t.inbox, segs: append(slices.Clip(t.segs), segs...)}
}

// entry is one mapping while it is planned.
type entry struct {
	m        Mapping
	path     []string         // levels below the source mailbox root, unescaped; INBOX spelt "INBOX"
	use      imap.MailboxAttr // detected on the source: attribute, else well-known top-level name
	tp       tpath
	tpOK     bool     // tp describes m.Target (false: a remapped target outside the prefix)
	remapped bool     // m.Target is the target's existing special-use folder
	parent   bool     // needed as the parent of a migrated folder
	key      []string // target levels, for sorting
}

type planner struct {
	opts      Options
	delim     rune   // target delimiter, 0 if flat
	sep       string // what joins levels on the target: the delimiter, "/" if flat
	esc       rune   // what levels are escaped against: the delimiter, '/' if flat
	prefix    string // target personal namespace prefix without its trailing delimiter
	inboxFlat bool   // INBOX's children go to the top level (prefix is INBOX, or INBOX has \Noinferiors)
	inboxNote string
	root      []string // UserRoot levels
	patterns  []pattern
	target    []Folder
	byKey     map[string]Folder // target folders by nameKey
	entries   []*entry
}

func newPlanner(target []Folder, delim rune, opts Options) (*planner, error) {
	if delim < 0 || delim == utf8.RuneError || !utf8.ValidRune(delim) {
		return nil, fmt.Errorf("target hierarchy delimiter %q is not a character", delim)
	}
	p := &planner{opts: opts, delim: delim, sep: "/", esc: '/', target: target, byKey: make(map[string]Folder)}
	if delim != 0 {
		p.sep, p.esc = string(delim), delim
	}
	var err error
	if p.patterns, err = parsePatterns(opts.Exclude); err != nil {
		return nil, err
	}
	if opts.UserRoot != "" {
		p.root = splitName(opts.UserRoot, '/')
		if len(p.root) == 0 {
			return nil, fmt.Errorf("UserRoot %q names no folder: write it as the path of the user's folders, e.g. /users/terry.adams", opts.UserRoot)
		}
	}
	p.prefix = opts.TargetPrefix
	if delim != 0 {
		p.prefix = strings.TrimSuffix(p.prefix, p.sep)
	}
	if strings.EqualFold(p.prefix, "INBOX") {
		p.prefix, p.inboxFlat = "INBOX", true
	}
	for _, f := range target {
		k := p.nameKey(f.Name)
		if _, dup := p.byKey[k]; !dup {
			p.byKey[k] = f
		}
		if k == "INBOX" && f.NoInferiors && !p.inboxFlat {
			p.inboxFlat = true
			p.inboxNote = "moved to the top level: the target's INBOX cannot have subfolders"
		}
	}
	return p, nil
}

// splitName splits a folder name into its levels, dropping empty ones (a
// trailing delimiter marks a directory on some servers).
func splitName(name string, delim rune) []string {
	if delim == 0 {
		if name == "" {
			return nil
		}
		return []string{name}
	}
	return slices.DeleteFunc(strings.Split(name, string(delim)), func(s string) bool { return s == "" })
}

// canonInbox spells a leading INBOX level "INBOX".
func canonInbox(name string, delim rune) string {
	const inbox = "INBOX"
	if len(name) < len(inbox) || !strings.EqualFold(name[:len(inbox)], inbox) {
		return name
	}
	if rest := name[len(inbox):]; rest == "" || (delim != 0 && strings.HasPrefix(rest, string(delim))) {
		return inbox + rest
	}
	return name
}

// nameKey is what decides whether two target names are the same folder.
func (p *planner) nameKey(name string) string {
	name = canonInbox(name, p.delim)
	if p.opts.TargetCaseInsensitive {
		return foldKey(name)
	}
	return name
}

// logicalPath returns the levels of f below the user's mailbox root, or false
// when f is not the user's (outside UserRoot, or the namespace itself).
func (p *planner) logicalPath(f Folder) ([]string, bool) {
	d, name := f.Delim, f.Name
	if p.root != nil {
		if d == 0 {
			d = '/'
		}
		root := strings.Join(p.root, string(d))
		n := strings.TrimPrefix(name, string(d))
		switch {
		case n == root:
			return []string{"INBOX"}, true
		case strings.HasPrefix(n, root+string(d)):
			name = n[len(root)+1:]
		default:
			return nil, false
		}
	}
	segs := splitName(name, d)
	if len(segs) == 0 {
		return nil, false
	}
	if strings.EqualFold(segs[0], "INBOX") {
		segs[0] = "INBOX"
	}
	if pre := splitName(canonInbox(p.opts.SourcePrefix, d), d); len(pre) > 0 && len(segs) >= len(pre) && slices.Equal(segs[:len(pre)], pre) {
		segs = segs[len(pre):]
		if len(segs) == 0 {
			if pre[0] == "INBOX" && len(pre) == 1 {
				return []string{"INBOX"}, true
			}
			return nil, false // the namespace itself, not a folder of the user
		}
	}
	return segs, true
}

// collect turns the source list into entries, one per logical path. A
// \Noselect duplicate of a path (UW-IMAP's "mail/" next to "mail", a root
// next to root/INBOX) gives way to the selectable folder.
func (p *planner) collect(source []Folder) {
	source = slices.Clone(source)
	slices.SortStableFunc(source, func(a, b Folder) int { return strings.Compare(a.Name, b.Name) })
	source = slices.CompactFunc(source, func(a, b Folder) bool { return a.Name == b.Name })
	byPath := make(map[string]*entry)
	for _, f := range source {
		path, ok := p.logicalPath(f)
		if !ok {
			continue
		}
		e := &entry{m: Mapping{Source: f, Sync: !f.NoSelect}, path: path}
		k := strings.Join(path, "\x00")
		if old := byPath[k]; old != nil {
			if f.NoSelect {
				continue
			}
			if old.m.Source.NoSelect {
				*old = *e
				continue
			}
		} else {
			byPath[k] = e
		}
		p.entries = append(p.entries, e)
	}
	slices.SortStableFunc(p.entries, func(a, b *entry) int { return comparePaths(a.path, b.path) })
	for _, e := range p.entries {
		e.use = e.m.Source.SpecialUse
		if e.use == "" && len(e.path) == 1 && e.path[0] != "INBOX" {
			e.use = UseByName(e.path[0])
		}
	}
}

// exclude applies the exclusion patterns, the first matching one winning.
func (p *planner) exclude() {
	anchors := map[imap.MailboxAttr][][]string{"": {nil}, useInbox: {{"INBOX"}}}
	for _, e := range p.entries {
		if e.use != "" {
			anchors[e.use] = append(anchors[e.use], e.path)
		}
	}
	for _, e := range p.entries {
		for _, pat := range p.patterns {
			if pat.matches(e.path, anchors[pat.anchor]) {
				e.m.Excluded = pat.raw
				e.m.Sync = false
				break
			}
		}
	}
}

// naturalTarget is where a source path goes when no special use moves it.
func (p *planner) naturalTarget(path []string) tpath {
	var t tpath
	if path[0] == "INBOX" {
		t.inbox = true
		path = path[1:]
		if len(path) > 0 && p.inboxFlat {
			t.inbox = false
		}
	}
	t.segs = p.escape(path)
	return t
}

func (p *planner) escape(levels []string) []string {
	out := make([]string, len(levels))
	for i, s := range levels {
		out[i] = Escape(s, p.esc)
	}
	return out
}

func (p *planner) render(t tpath) string {
	j := strings.Join(t.segs, p.sep)
	switch {
	case t.inbox && j == "":
		return "INBOX"
	case t.inbox:
		return "INBOX" + p.sep + j
	case p.prefix == "":
		return j
	case p.delim == 0:
		return p.prefix + j
	}
	return p.prefix + p.sep + j
}

// parseTarget is the inverse of render for names listed by the target;
// false for a name outside INBOX and the personal namespace.
func (p *planner) parseTarget(name string) (tpath, bool) {
	name = canonInbox(name, p.delim)
	d := p.esc
	switch {
	case name == "INBOX":
		return tpath{inbox: true}, true
	case !p.inboxFlat && strings.HasPrefix(name, "INBOX"+p.sep):
		return tpath{inbox: true, segs: splitName(name[len("INBOX"+p.sep):], d)}, true
	case p.prefix == "":
		return tpath{segs: splitName(name, d)}, true
	case p.delim != 0 && strings.HasPrefix(name, p.prefix+p.sep):
		return tpath{segs: splitName(name[len(p.prefix+p.sep):], d)}, true
	case p.delim == 0 && strings.HasPrefix(name, p.prefix):
		return tpath{segs: []string{name[len(p.prefix):]}}, true
	}
	return tpath{}, false
}

// assignSpecialUses maps, for each special use, one source folder onto the
// target folder of that use. See the package documentation.
func (p *planner) assignSpecialUses() {
	byAttr := make(map[imap.MailboxAttr][]string)
	byName := make(map[imap.MailboxAttr][]string)
	for _, f := range p.target {
		if f.NoSelect || p.nameKey(f.Name) == "INBOX" {
			continue
		}
		if f.SpecialUse != "" {
			byAttr[f.SpecialUse] = append(byAttr[f.SpecialUse], f.Name)
		} else if t, ok := p.parseTarget(f.Name); ok && !t.inbox && len(t.segs) == 1 {
			if u := UseByName(t.segs[0]); u != "" {
				byName[u] = append(byName[u], f.Name)
			}
		}
	}
	taken := make(map[string]bool) // target keys already given a use
	for _, use := range uses {
		var cands []*entry
		for _, e := range p.entries {
			if e.use == use && e.m.Sync {
				cands = append(cands, e)
			}
		}
		if len(cands) == 0 {
			continue
		}
		natural := func(e *entry) string { return p.nameKey(p.render(e.tp)) }
		identity := func(names []string) (*entry, string) {
			for _, e := range cands {
				for _, n := range names {
					if natural(e) == p.nameKey(n) {
						return e, n
					}
				}
			}
			return nil, ""
		}
		free := func(names []string) []string {
			names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return taken[p.nameKey(n)] })
			slices.Sort(names)
			return names
		}
		attr, named := free(byAttr[use]), free(byName[use])
		winner, target := identity(attr)
		switch {
		case winner != nil: // one already has the name of the target's folder
		case len(attr) > 0:
			target = attr[0]
		default:
			if winner, target = identity(named); winner == nil && len(named) > 0 {
				target = named[0]
			}
		}
		if target == "" && wellKnownNames[use] == nil {
			continue // \All, \Flagged: virtual on most servers, never created as such
		}
		if winner == nil {
			winner = cands[0]
			if i := slices.IndexFunc(cands, func(e *entry) bool { return e.m.Source.SpecialUse == use }); i >= 0 {
				winner = cands[i]
			}
		}
		winner.m.SpecialUse = use
		if target != "" {
			taken[p.nameKey(target)] = true
			if p.nameKey(target) != natural(winner) {
				winner.m.Target, winner.remapped = target, true
				winner.tp, winner.tpOK = p.parseTarget(target)
				winner.m.Note = fmt.Sprintf("mapped to the target's %s folder", use)
			}
		}
		for _, e := range cands {
			if e != winner {
				e.m.Note = fmt.Sprintf("another %s folder: kept as a folder of its own (%q is the %s folder)", use, winner.m.Source.Name, use)
			}
		}
	}
}

// reroot moves the subfolders of a folder that was mapped onto the target's
// special-use folder under that folder ("Sent/2023" → "Sent Items/2023").
func (p *planner) reroot() {
	moved := make(map[string]*entry)
	for _, e := range p.entries {
		if e.remapped && e.tpOK {
			moved[strings.Join(e.path, "\x00")] = e
		}
	}
	if len(moved) == 0 {
		return
	}
	for _, e := range p.entries {
		if e.remapped {
			continue
		}
		for k := len(e.path) - 1; k >= 1; k-- {
			if r := moved[strings.Join(e.path[:k], "\x00")]; r != nil {
				e.tp = r.tp.child(p.escape(e.path[k:])...)
				break
			}
		}
	}
}

// addParents marks or adds the parents a migrated folder needs on a
// hierarchical target, so that no server is asked to create missing parents.
func (p *planner) addParents() {
	if p.delim == 0 {
		return
	}
	byTarget := make(map[string]*entry)
	for _, e := range p.entries {
		k := p.nameKey(e.m.Target)
		if old := byTarget[k]; old == nil || (!old.m.Sync && e.m.Sync) {
			byTarget[k] = e
		}
	}
	for _, e := range p.entries { // parents appended here are not visited: they need none
		if !e.m.Sync || e.remapped {
			continue
		}
		for n := len(e.tp.segs) - 1; n >= 1; n-- {
			anc := tpath{inbox: e.tp.inbox, segs: e.tp.segs[:n]}
			name := p.render(anc)
			k := p.nameKey(name)
			switch a := byTarget[k]; {
			case a == nil && p.exists(name, false):
				// nothing to do: the target has it
			case a == nil:
				a = &entry{m: Mapping{Target: name, Note: fmt.Sprintf("parent of %q", e.m.Source.Name)}, tp: anc, parent: true}
				byTarget[k] = a
				p.entries = append(p.entries, a)
			case !a.m.Sync:
				a.parent = true
			}
		}
	}
}

// setCreate decides which target folders must be created.
func (p *planner) setCreate() {
	for _, e := range p.entries {
		if p.nameKey(e.m.Target) == "INBOX" {
			continue // always there
		}
		switch {
		case e.m.Sync:
			e.m.Create = !p.exists(e.m.Target, true)
		case e.parent:
			e.m.Create = !p.exists(e.m.Target, false)
			if e.m.Excluded != "" && e.m.Create {
				e.m.Note = "created empty: parent of migrated folders"
			}
		case e.m.Source.NoSelect && e.m.Excluded == "":
			e.m.Note = "nothing to migrate below it: not created"
		}
	}
}

// exists reports whether the target lists name; with selectable, only a
// folder that can hold messages counts.
func (p *planner) exists(name string, selectable bool) bool {
	f, ok := p.byKey[p.nameKey(name)]
	return ok && !(selectable && f.NoSelect)
}

// collisions reports source folders whose messages would meet in one target
// folder.
func (p *planner) collisions() error {
	groups := make(map[string][]*entry)
	var keys []string
	for _, e := range p.entries {
		if !e.m.Sync {
			continue
		}
		k := p.nameKey(e.m.Target)
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], e)
	}
	var errs []error
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		ce := &CollisionError{Target: g[0].m.Target}
		for _, e := range g {
			ce.Sources = append(ce.Sources, e.m.Source.Name)
			e.m.Note = "collision: see the error"
		}
		slices.Sort(ce.Sources)
		errs = append(errs, ce)
	}
	return errors.Join(errs...)
}

// compareEntries orders mappings parents before children, INBOX first, then
// by name (without regard to case first, so that a dry run reads naturally).
func compareEntries(a, b *entry) int {
	return cmp.Or(comparePaths(a.key, b.key), strings.Compare(a.m.Source.Name, b.m.Source.Name), strings.Compare(a.m.Excluded, b.m.Excluded))
}

// comparePaths compares level by level: a parent sorts before its children,
// and an INBOX first level before anything else.
func comparePaths(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if i == 0 && (a[0] == "INBOX") != (b[0] == "INBOX") {
			if a[0] == "INBOX" {
				return -1
			}
			return 1
		}
		if c := cmp.Or(strings.Compare(foldKey(a[i]), foldKey(b[i])), strings.Compare(a[i], b[i])); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}
