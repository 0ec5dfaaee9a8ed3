package pg

import "testing"

func TestSetsRecoveryTarget(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   DataDirInfo
		want bool
	}{
		{"none", DataDirInfo{Appended: []string{"archive_mode = on"}}, false},
		{"immediate in include_dir", DataDirInfo{IncludeFiles: []ConfFile{{Name: "replica_restore.conf", Lines: []string{"recovery_target = 'immediate'"}}}}, true},
		{"lsn in postgresql.conf", DataDirInfo{Appended: []string{"recovery_target_lsn = '0/3000000' # stop there"}}, true},
		{"emptied by auto.conf", DataDirInfo{Appended: []string{"recovery_target = 'immediate'"}, AutoConf: []string{"recovery_target = ''"}}, false},
		{"action alone is no target", DataDirInfo{IncludeFiles: []ConfFile{{Lines: []string{"recovery_target_action = 'shutdown'", "recovery_target_timeline = 'current'"}}}}, false},
	} {
		if got := tc.in.SetsRecoveryTarget(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
