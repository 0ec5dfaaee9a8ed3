package explore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"walstep/cluster"
	"walstep/steps"
)

// PlaybookFile is a lab's own playbook, when it has one: its hash names the
// playbook in a shard's identity; without it the built-in playbook's steps
// are hashed.
const PlaybookFile = cluster.PlaybookFile

// VariantID is a variant by name and by the content its runs start from.
type VariantID struct {
	Name string `json:"name"`
	Hash string `json:"hash"` // sha256 of the effective lab files, 12 hex digits
}

// Identity is what makes two explorations the same matrix: shards whose
// identities differ only in the shard index may be merged.
type Identity struct {
	Variants []VariantID `json:"variants"`
	Columns  []string    `json:"columns"` // "pg15 cp", in matrix order
	Backend  string      `json:"backend"`
	Repeat   int         `json:"repeat"`
	Shared   bool        `json:"shared_prefix"`  // it decides how cells are grouped into shards
	From     string      `json:"from,omitempty"` // explore --from: where the runs start
	Playbook string      `json:"playbook"`
	Walstep  string      `json:"walstep"` // version and commit of the binary
	Shard    Shard       `json:"shard"`
}

// Differs names the first way two identities are of different matrices,
// "" when they are the same matrix (shard indices aside).
func (a Identity) Differs(b Identity) string {
	names := func(vs []VariantID) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	switch {
	case !slices.Equal(names(a.Variants), names(b.Variants)):
		return fmt.Sprintf("variants differ (%s vs %s)", strings.Join(names(a.Variants), ","), strings.Join(names(b.Variants), ","))
	case !slices.Equal(a.Variants, b.Variants):
		for i := range a.Variants {
			if a.Variants[i] != b.Variants[i] {
				return fmt.Sprintf("variant %s has other files (%s vs %s)", a.Variants[i].Name, a.Variants[i].Hash, b.Variants[i].Hash)
			}
		}
	case !slices.Equal(a.Columns, b.Columns):
		return fmt.Sprintf("versions and archivers differ (%s vs %s)", strings.Join(a.Columns, ", "), strings.Join(b.Columns, ", "))
	case a.Backend != b.Backend:
		return fmt.Sprintf("backends differ (%s vs %s)", a.Backend, b.Backend)
	case a.Repeat != b.Repeat:
		return fmt.Sprintf("runs per cell differ (--repeat %d vs %d)", a.Repeat, b.Repeat)
	case a.Shared != b.Shared:
		return fmt.Sprintf("shared prefixes differ (%v vs %v: one ran with --no-share)", a.Shared, b.Shared)
	case a.From != b.From:
		return fmt.Sprintf("where the runs start differs (--from %q vs %q)", a.From, b.From)
	case a.Playbook != b.Playbook:
		return fmt.Sprintf("playbooks differ (%s vs %s)", a.Playbook, b.Playbook)
	case a.Walstep != b.Walstep:
		return fmt.Sprintf("walstep versions differ (%s vs %s)", a.Walstep, b.Walstep)
	case a.Shard.N != b.Shard.N:
		return fmt.Sprintf("shard counts differ (%s vs %s)", a.Shard, b.Shard)
	}
	return ""
}

// NewIdentity is the identity of exploring variants in columns with lab.
func NewIdentity(lab *cluster.Lab, variants []Variant, r Resolved, repeat int, share bool, walstep string, sh Shard) (Identity, error) {
	id := Identity{Backend: r.Backend, Repeat: repeat, Shared: share, Walstep: walstep, Shard: sh}
	for _, v := range variants {
		h, err := v.contentHash(lab)
		if err != nil {
			return Identity{}, err
		}
		id.Variants = append(id.Variants, VariantID{Name: v.Name, Hash: h})
	}
	for _, c := range r.Columns {
		id.Columns = append(id.Columns, c.Label())
	}
	pb, err := playbookID(lab)
	if err != nil {
		return Identity{}, err
	}
	id.Playbook = pb
	return id, nil
}

// contentHash hashes the files a run of v starts from: the base lab's
// editable files with the variant's over them.
func (v Variant) contentHash(base *cluster.Lab) (string, error) {
	files := map[string]string{} // relative path → where it is read from, in the lab
	for _, f := range overlayFiles {
		files[f] = f
	}
	if ents, err := os.ReadDir(base.Path(cluster.HooksDir)); err == nil {
		for _, e := range ents {
			if e.Type().IsRegular() && hookName.MatchString(e.Name()) {
				files[cluster.HooksDir+"/"+e.Name()] = cluster.HooksDir + "/" + e.Name()
			}
		}
	}
	for _, f := range v.Files {
		files[f] = VariantsDir + "/" + v.Name + "/" + f
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := base.ReadFile(files[n])
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("hash variant %s: %w", v.Name, err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// playbookID names the playbook the runs follow: the lab's playbook file
// by its hash, else the built-in playbook by a hash of its steps.
func playbookID(lab *cluster.Lab) (string, error) {
	h := sha256.New()
	b, err := lab.ReadFile(PlaybookFile)
	if err == nil {
		h.Write(b)
		return PlaybookFile + " " + hex.EncodeToString(h.Sum(nil))[:12], nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("hash playbook: %w", err)
	}
	for _, s := range steps.Playbook(&steps.Env{}) {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", s.ID, s.Title, s.Command)
	}
	return "built-in " + hex.EncodeToString(h.Sum(nil))[:12], nil
}
