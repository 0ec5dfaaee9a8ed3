package pg

import (
	"context"
	"fmt"
	"walstep/cluster"

	"github.com/jackc/pgx/v5"
)

// ResolveRelations names relation files on the server at connStr: one
// connection per database involved, only to databases that exist and
// allow connections (a refused connection would leave a FATAL line in the
// log the user reads), and only queries that cannot fail on unknown files
// (pg_filenode_relation returns NULL for them). Indexes and TOAST tables
// are marked as such. Files it cannot name are left out.
func ResolveRelations(ctx context.Context, connStr string, rels []RelFile) (map[RelFile]string, error) {
	out := map[RelFile]string{}
	if len(rels) == 0 {
		return out, nil
	}
	cfg, err := pgx.ParseConfig(connStr)
	if err != nil {
		return out, fmt.Errorf("resolve relations: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return out, fmt.Errorf("resolve relations: %w", err)
	}
	type db struct {
		name string
		spc  uint32
	}
	dbs := map[uint32]db{}
	rows, err := conn.Query(ctx, "select oid::int8, datname, dattablespace::int8 from pg_database where datallowconn")
	if err == nil {
		for rows.Next() {
			var oid, spc int64
			var name string
			if rows.Scan(&oid, &name, &spc) == nil {
				dbs[uint32(oid)] = db{name, uint32(spc)}
			}
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil {
		cluster.Disconnect(conn)
		return out, fmt.Errorf("resolve relations: list databases: %w", err)
	}
	byDB := map[uint32][]RelFile{}
	for _, r := range rels {
		byDB[r.DB] = append(byDB[r.DB], r)
	}
	var firstErr error
	for dbOID, rs := range byDB {
		c := conn
		d, known := dbs[dbOID]
		if dbOID != 0 && !known {
			continue
		}
		if dbOID != 0 && d.name != cfg.Database {
			dcfg := cfg.Copy()
			dcfg.Database = d.name
			c, err = pgx.ConnectConfig(ctx, dcfg)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
		}
		for _, r := range rs {
			spc := r.Spc
			if dbOID != 0 && spc == d.spc {
				spc = 0 // pg_filenode_relation wants 0 for the database's default tablespace
			}
			var name, kind *string
			err := c.QueryRow(ctx, `select c.oid::regclass::text, c.relkind::text
				from pg_class c where c.oid = pg_filenode_relation($1::int8::oid, $2::int8::oid)`, int64(spc), int64(r.Node)).Scan(&name, &kind)
			if err == pgx.ErrNoRows {
				continue
			}
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			if name != nil {
				out[r] = *name + kindSuffix(kind)
			}
		}
		if c != conn {
			cluster.Disconnect(c)
		}
	}
	cluster.Disconnect(conn)
	if firstErr != nil {
		return out, fmt.Errorf("resolve relations: %w", firstErr)
	}
	return out, nil
}

func kindSuffix(kind *string) string {
	if kind == nil {
		return ""
	}
	switch *kind {
	case "i", "I":
		return " (index)"
	case "t":
		return " (TOAST)"
	case "S":
		return " (sequence)"
	case "m":
		return " (materialized view)"
	}
	return ""
}
