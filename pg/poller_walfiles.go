package pg

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"walstep/cluster"
)

// walFile is one regular file in a server's pg_wal.
type walFile struct {
	name string
	mod  time.Time
}

// walDir lists node's pg_wal through the backend's file access: that
// leaves no line in the server's log, and whatever the server user planted
// there (a link, a FIFO) is an entry left out, not a failed query that
// fails the whole reading (pg_ls_waldir stops at the first entry it cannot
// stat). Only when the backend cannot read the data dir (Docker without
// root) does it ask the server; fromFiles says which.
func (p *Poller) walDir(ctx context.Context, c *pgx.Conn, node cluster.Node) (files []walFile, fromFiles bool, err error) {
	if fis, ferr := p.src.ReadDir(ctx, node, cluster.AreaData, "pg_wal"); ferr == nil {
		for _, fi := range fis {
			if !fi.Dir && fi.Link == "" {
				files = append(files, walFile{name: fi.Name, mod: fi.ModTime})
			}
		}
		return files, true, nil
	}
	rows, err := c.Query(ctx, `select name, modification from pg_ls_waldir()`)
	if err != nil {
		return nil, false, fmt.Errorf("list pg_wal: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f walFile
		if err := rows.Scan(&f.name, &f.mod); err != nil {
			return nil, false, fmt.Errorf("list pg_wal: %w", err)
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list pg_wal: %w", err)
	}
	return files, false, nil
}

// newestSegment is the newest WAL segment in files (by modification, then
// name), "" when there is none.
func newestSegment(files []walFile) string {
	var segs []walFile
	for _, f := range files {
		if _, _, ok := ParseWALFileName(f.name); ok && len(f.name) == 24 {
			segs = append(segs, f)
		}
	}
	if len(segs) == 0 {
		return ""
	}
	sort.Slice(segs, func(i, j int) bool {
		if !segs[i].mod.Equal(segs[j].mod) {
			return segs[i].mod.After(segs[j].mod)
		}
		return segs[i].name > segs[j].name
	})
	return segs[0].name
}
