package ocamba

// Unexported helpers, for this package's external tests.
var (
	FormatTime = formatTime
	ParseTime  = parseTime
	IsMasked   = isMasked
	ValidE164  = validE164
)
