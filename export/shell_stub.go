package export
type shellForm func()
var shellForms = func() map[string]shellForm { m := map[string]shellForm{}; for k := range tapForms { m[k] = nil }; return m }()
func Script(o Options) ([]byte, error) { return nil, nil }
