package classify

import (
	"bytes"
	"strconv"

	"github.com/downsignal/downsignal/record"
)

// Error codes are read from the folded text by a hand-written scanner: each family has a shape
// that a regular expression would also find, but the scanner runs in one pass, allocates only the
// codes it returns, and can look at the words around a number. Bare numbers are the risk: "500
// people", "$503", "flight 451", "5.30 pm", "v4.3.2". A number becomes a code only with a cue
// before it ("error", "HTTP", "got a") or a reason phrase after it ("Service Unavailable").

// codeHit is a code found in the folded text.
type codeHit struct {
	code       record.ErrorCode
	start, end int // folded byte offsets
}

var httpMeaning = map[int]string{
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
	408: "Request Timeout", 409: "Conflict", 410: "Gone", 413: "Content Too Large", 421: "Misdirected Request",
	422: "Unprocessable Content", 425: "Too Early", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
	451: "Unavailable For Legal Reasons",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported", 507: "Insufficient Storage", 508: "Loop Detected",
	509: "Bandwidth Limit Exceeded", 511: "Network Authentication Required", 529: "Site is overloaded",
}

var cloudflareMeaning = map[int]string{
	520: "Web server returned an unknown error", 521: "Web server is down", 522: "Connection timed out",
	523: "Origin is unreachable", 524: "A timeout occurred", 525: "SSL handshake failed",
	526: "Invalid SSL certificate", 527: "Railgun listener to origin error", 530: "Origin DNS error",
}

// smtpMeaning covers the RFC 5321 reply codes that show up in bounce messages.
var smtpMeaning = map[int]string{
	421: "Service not available, closing transmission channel", 450: "Mailbox unavailable (busy or blocked)",
	451: "Local error in processing", 452: "Insufficient system storage", 454: "Temporary authentication failure",
	500: "Syntax error, command unrecognized", 501: "Syntax error in parameters", 502: "Command not implemented",
	503: "Bad sequence of commands", 504: "Command parameter not implemented", 530: "Authentication required",
	535: "Authentication credentials invalid", 550: "Mailbox unavailable or message rejected",
	551: "User not local", 552: "Exceeded storage allocation", 553: "Mailbox name not allowed",
	554: "Transaction failed", 555: "MAIL FROM/RCPT TO parameters not recognized",
}

// enhancedMeaning covers RFC 3463 subject.detail codes (and a few that Microsoft 365 adds).
var enhancedMeaning = map[string]string{
	"0.0": "Other undefined status", "1.0": "Other address status", "1.1": "Bad destination mailbox address",
	"1.2": "Bad destination system address", "1.3": "Bad destination mailbox address syntax",
	"1.10": "Recipient address has null MX",
	"2.0":  "Other or undefined mailbox status", "2.1": "Mailbox disabled", "2.2": "Mailbox full",
	"2.3": "Message length exceeds administrative limit", "3.0": "Other or undefined mail system status",
	"3.1": "Mail system full", "3.2": "System not accepting network messages", "3.4": "Message too big for system",
	"4.0": "Other or undefined network or routing status", "4.1": "No answer from host", "4.2": "Bad connection",
	"4.3": "Directory server failure", "4.4": "Unable to route", "4.6": "Routing loop detected",
	"4.7": "Delivery time expired", "5.0": "Other or undefined protocol status", "6.0": "Other or undefined media error",
	"7.0": "Other or undefined security status", "7.1": "Delivery not authorized, message refused",
	"7.8": "Authentication credentials invalid", "7.26": "Multiple authentication checks failed",
	"7.57": "Client was not authenticated to send anonymous mail", "7.500": "Access denied, spam abatement",
	"7.606": "Access denied, banned sending IP", "7.708": "Access denied, traffic not accepted from this IP",
	"7.509": "Access denied, sending domain does not pass DMARC",
}

var aadstsMeaning = map[string]string{
	"50011": "Reply URL mismatch", "50020": "User account from an identity provider does not exist in tenant",
	"50034": "User account does not exist in the directory", "50053": "Account is locked or sign-in blocked",
	"50055": "Password is expired", "50057": "User account is disabled", "50058": "Silent sign-in request failed: no session",
	"50076": "Multi-factor authentication required", "50079": "User must enroll for multi-factor authentication",
	"50105": "User is not assigned to the application", "50126": "Invalid username or password",
	"50158": "External security challenge not satisfied", "50173": "Grant expired after a password change",
	"53003": "Blocked by Conditional Access", "65001": "User or administrator has not consented",
	"70043": "Refresh token expired or invalid by Conditional Access", "90033": "A transient error has occurred",
	"90072": "User account is not in the tenant", "700016": "Application not found in the directory",
	"7000215": "Invalid client secret", "500011": "Resource principal not found in the tenant",
	"16000": "Account selection required", "135011": "Device is disabled",
	"9002313": "Invalid request", "50199": "User interaction required for security",
}

var caaMeaning = map[string]string{
	"CAA20003": "Authorization problem (check the device's date and time)",
	"CAA20004": "Request needs to be approved (Conditional Access)",
	"CAA2000B": "Sign-in failed (device or account state)",
	"CAA50021": "Number of retries exceeded (device registration or TPM)",
	"CAA70004": "Sign-in failed, could not reach the server",
	"CAA82EE2": "Request timed out", "CAA82EE7": "Server name could not be resolved",
	"CAA90018": "Credentials are not valid for this sign-in",
}

var hresultMeaning = map[string]string{
	"0x80004005": "Unspecified error", "0x80070005": "Access denied", "0x80070057": "Invalid parameter",
	"0x80070002": "File not found", "0x8007000E": "Out of memory", "0x80072EE7": "Server name could not be resolved",
	"0x80072EFD": "Cannot connect to the server", "0x80072F8F": "Secure connection error",
	"0x800CCC0E": "Cannot connect to the mail server", "0x800CCC0F": "Connection to the mail server was interrupted",
	"0x8004010F": "Outlook data file cannot be accessed", "0x800F0922": "Update could not be installed",
	"0x80190001": "Unexpected error during sign-in", "0x80040154": "Class not registered",
	"0x87E10BC6": "Xbox licensing service unavailable", "0x87E00017": "Xbox game could not be installed",
	"0x80A40008": "Xbox network sign-in problem", "0x80A40019": "Xbox network sign-in problem",
	"0x87DD0003": "Xbox network sign-in problem", "0x87DD0006": "Xbox network sign-in problem",
	"0x87DD0017": "Xbox network connection problem", "0x8015DC12": "Xbox content restriction or account problem",
}

var awsMeaning = map[string]string{
	"ThrottlingException":                    "Request rate exceeded (throttled)",
	"ServiceUnavailableException":            "Service unavailable",
	"ServiceUnavailable":                     "Service unavailable",
	"InternalError":                          "Internal error on the AWS side",
	"InternalFailure":                        "Internal failure on the AWS side",
	"InternalServerError":                    "Internal server error",
	"InternalServerException":                "Internal server error",
	"SlowDown":                               "Reduce the request rate (S3)",
	"RequestLimitExceeded":                   "API request rate exceeded (EC2)",
	"ProvisionedThroughputExceededException": "Provisioned throughput exceeded (DynamoDB)",
	"InsufficientInstanceCapacity":           "Not enough capacity for the instance type (EC2)",
	"RequestTimeout":                         "Request timed out",
	"RequestTimeoutException":                "Request timed out",
	"TooManyRequestsException":               "Too many requests",
	"LimitExceededException":                 "Limit exceeded",
	"ServiceQuotaExceededException":          "Service quota exceeded",
	"ExpiredTokenException":                  "Security token expired",
	"AccessDeniedException":                  "Access denied",
	"AccessDenied":                           "Access denied",
	"UnrecognizedClientException":            "Invalid security token or access key",
	"KMSInternalException":                   "Internal error in KMS",
	"EC2ThrottledException":                  "EC2 API throttled the request",
	"BandwidthLimitExceeded":                 "Bandwidth limit exceeded",
	"RequestThrottled":                       "Request throttled",
}

// smtpOnly are the reply codes that, alone and near mail words, are SMTP rather than HTTP.
var smtpOnly = map[int]bool{421: true, 450: true, 451: true, 452: true, 454: true, 530: true, 535: true,
	550: true, 551: true, 552: true, 553: true, 554: true, 555: true}

var playstationPrefixes = map[string]bool{
	"ce": true, "nw": true, "ws": true, "np": true, "su": true, "wv": true, "wc": true, "e2": true, "cr": true, "sc": true, "nu": true,
}

// Words that say the number after them is an error code, and words after a number that say it is not.
var (
	codeBefore = []string{"http", "error", "errors", "err", "code", "status", "erro", "erreur", "erreurs", "fehler",
		"got a", "get a", "getting", "gets", "throwing", "throws", "returning", "returns", "returned", "return",
		"serving", "giving me a", "giving me", "giving", "gives", "showing", "shows", "with a", "des", "une", "da", "dando",
		"says", "said", "saying", "tira", "devuelve", "retornando", "renvoie", "liefert", "zeigt", "gibt uns", "nos devuelve", "random",
		"エラー", "error:", "http/1.1", "http/2", "a"}
	codeAfterNot = []string{"people", "persons", "users", "pizzas", "pizza", "day", "days", "followers", "euros", "euro",
		"reais", "real", "dollars", "dollar", "pesos", "yen", "miles", "km", "points", "score", "attendees", "pessoas",
		"personas", "personnes", "leute", "million", "millions", "bus", "times", "pages", "words", "mb", "gb", "ms",
		"人", "円", "ドル", "bucks", "grams", "g", "ml", "page", "employees", "staff", "workers", "jobs",
		"customers", "empleados", "funcionarios", "employes", "mitarbeiter"}
	codeAfterYes = []string{"error", "errors", "service unavailable", "bad gateway", "gateway timeout", "internal server error",
		"not found", "forbidden", "unauthorized", "too many requests", "connection timed out", "web server is down",
		"エラー", "返して", "返って", "s ", "s,", "s.", "s!", "s?", "s\n"}
	mailContext = []string{"smtp", "mail", "email", "e-mail", "emails", "mails", "correo", "correos", "courriel", "bounce",
		"bounced", "bounces", "bouncing", "ndr", "ndrs", "relay", "mailbox", "deferring", "deferred", "rejecting our",
		"newsletter", "spf", "dkim", "dmarc", "undeliverable", "postfix", "exchange", "outlook", "gmail", "hotmail",
		"mail flow", "queue", "メール", "sender", "recipient", "reject", "rechaza", "rejette", "lehnt", "rejeitando",
		"rejeita"}
	versionBefore = []string{"version", "versao", "versión", "version", "v", "ios", "android", "ipados", "macos", "windows",
		"update", "updated to", "release", "build", "バージョン", "firmware", "app"}
)

// scanCodes appends the error codes of the folded text to dst.
func scanCodes(dst []codeHit, norm []byte, hasCloudflare, hasNintendo bool) []codeHit {
	n := len(norm)
	for i := 0; i < n; i++ {
		c := norm[i]
		if i > 0 && isAlnum(norm[i-1]) {
			continue
		}
		switch {
		case c == 'a' && hasPrefixAt(norm, i, "aadsts"):
			j := i + 6
			k := digitsRun(norm, j)
			if k-j >= 5 && k-j <= 7 && !isAlnumAt(norm, k) {
				num := string(norm[j:k])
				dst = append(dst, codeHit{record.ErrorCode{Code: "AADSTS" + num, Family: "aadsts", Meaning: aadstsMeaning[num]}, i, k})
				i = k - 1
			}
		case c == 'c' && hasPrefixAt(norm, i, "caa"):
			if h, ok := caaAt(norm, i); ok {
				dst = append(dst, h)
				i = h.end - 1
			}
		case c == '0' && i+1 < n && norm[i+1] == 'x':
			if hasPrefixAt(norm, i, "0xcaa") {
				if h, ok := caaAt(norm, i+2); ok {
					h.start = i
					dst = append(dst, h)
					i = h.end - 1
				}
				continue
			}
			j := i + 2
			k := hexRun(norm, j)
			if k-j == 8 && norm[j] == '8' && !isAlnumAt(norm, k) {
				code := "0x" + upperHex(norm[j:k])
				fam := "hresult"
				if isXbox(code) {
					fam = "xbox"
				}
				dst = append(dst, codeHit{record.ErrorCode{Code: code, Family: fam, Meaning: hresultMeaning[code]}, i, k})
				i = k - 1
			}
		case isLetter(c) && i+1 < n && isAlnum(norm[i+1]) && i+2 < n && norm[i+2] == '-':
			if h, ok := playstationAt(norm, i); ok {
				dst = append(dst, h)
				i = h.end - 1
			}
		case isDigit(c):
			h, end, ok := numberCode(norm, i, hasCloudflare, hasNintendo)
			if ok {
				dst = append(dst, h)
			}
			if end > i {
				i = end - 1
			}
		}
		if len(dst) >= maxCodes {
			break
		}
	}
	return dst
}

func caaAt(norm []byte, i int) (codeHit, bool) {
	j := i + 3
	k := hexRun(norm, j)
	if k-j != 5 || isAlnumAt(norm, k) || !isDigit(norm[j]) {
		return codeHit{}, false
	}
	code := "CAA" + upperHex(norm[j:k])
	m := caaMeaning[code]
	if m == "" {
		m = "Microsoft 365 sign-in error"
	}
	return codeHit{record.ErrorCode{Code: code, Family: "caa", Meaning: m}, i, k}, true
}

// playstationAt reads "CE-108255-1" style codes.
func playstationAt(norm []byte, i int) (codeHit, bool) {
	if !playstationPrefixes[string(norm[i:i+2])] {
		return codeHit{}, false
	}
	j := i + 3
	k := digitsRun(norm, j)
	if k-j < 5 || k-j > 6 || k+2 > len(norm) || norm[k] != '-' || !isDigit(norm[k+1]) || isAlnumAt(norm, k+2) {
		return codeHit{}, false
	}
	end := k + 2
	code := upperASCII(norm[i:end])
	return codeHit{record.ErrorCode{Code: code, Family: "playstation", Meaning: "PlayStation error"}, i, end}, true
}

// numberCode reads the number at i and decides whether it is a code. It returns the end of the
// number either way so the caller skips it.
func numberCode(norm []byte, i int, hasCloudflare, hasNintendo bool) (codeHit, int, bool) {
	n := len(norm)
	k := digitsRun(norm, i)
	// Enhanced status code alone: 4.3.2, 5.7.708.
	if k-i == 1 && k < n && norm[k] == '.' {
		if h, end, ok := enhancedAt(norm, i); ok {
			if !precededBy(norm, i, versionBefore) && (hasContext(norm, mailContext) || precededBy(norm, i, codeBefore)) {
				return h, end, true
			}
			return codeHit{}, end, false
		}
	}
	if k-i == 4 {
		if h, ok := fourDigitCode(norm, i, k, hasCloudflare, hasNintendo); ok {
			return h, h.end, true
		}
	}
	if k-i != 3 {
		return codeHit{}, skipNumber(norm, k), false
	}
	return threeDigitCode(norm, i, k, hasCloudflare)
}

// fourDigitCode reads the four digits norm[i:k] as a Nintendo error code (2xxx-xxxx) or a
// Cloudflare 1xxx error, each only in a post that names the company.
func fourDigitCode(norm []byte, i, k int, hasCloudflare, hasNintendo bool) (codeHit, bool) {
	if k+5 <= len(norm) && norm[k] == '-' && hasNintendo {
		k2 := digitsRun(norm, k+1)
		if k2-(k+1) == 4 && !isAlnumAt(norm, k2) && norm[i] == '2' && !(isYear(norm[i:k]) && isYear(norm[k+1:k2])) {
			code := string(norm[i:k2])
			return codeHit{record.ErrorCode{Code: code, Family: "nintendo", Meaning: "Nintendo network error"}, i, k2}, true
		}
	}
	if hasCloudflare && norm[i] == '1' && precededBy(norm, i, codeBefore) && !isAlnumAt(norm, k) {
		code := "Cloudflare " + string(norm[i:k])
		return codeHit{record.ErrorCode{Code: code, Family: "cloudflare", Meaning: "Cloudflare error"}, i, k}, true
	}
	return codeHit{}, false
}

// threeDigitCode decides whether the three digits norm[i:k] are a status code: not part of a
// bigger number, and with a cue before or after ("error 503", "503 errors"), or SMTP's pair
// "451 4.3.2". It returns where scanning resumes either way.
func threeDigitCode(norm []byte, i, k int, hasCloudflare bool) (codeHit, int, bool) {
	if end, glued := gluedNumber(norm, i, k); glued {
		return codeHit{}, end, false
	}
	num, _ := strconv.Atoi(string(norm[i:k]))
	if h, end, ok := smtpPairAt(norm, i, k, num); ok {
		return h, end, true
	}
	if followedBy(norm, k, codeAfterNot) {
		return codeHit{}, k, false
	}
	before := precededBy(norm, i, codeBefore)
	after := followedBy(norm, k, codeAfterYes)
	// "Cloudflare 522": a Cloudflare status right after the name needs no
	// other cue (Cloudflare's 52x codes are its own, not prices or counts).
	cfNamed := num >= 520 && num <= 530 && hasCloudflare && precededBy(norm, i, []string{"cloudflare"})
	if !before && !after && !cfNamed {
		return codeHit{}, k, false
	}
	if h, ok := statusCode(norm, i, k, num, hasCloudflare); ok {
		return h, k, true
	}
	return codeHit{}, k, false
}

// gluedNumber reports whether the three digits norm[i:k] are glued to more number-like text, and
// so are something else (5:03, 503.2, 500,000, 503€, $503, 503rd), and where scanning resumes.
func gluedNumber(norm []byte, i, k int) (int, bool) {
	n := len(norm)
	if k < n {
		switch norm[k] {
		case '%', '$', '/', '+':
			return skipNumber(norm, k), true
		case '.', ',', ':':
			if k+1 < n && isDigit(norm[k+1]) {
				return skipNumber(norm, k), true
			}
		}
		if isLetter(norm[k]) && norm[k] != 's' && !hasPrefixAt(norm, k, "error") {
			return k, true
		}
		if norm[k] == 's' && isAlnumAt(norm, k+1) {
			return k, true
		}
	}
	if i > 0 {
		switch norm[i-1] {
		case '$', '#', '-', '.', '/', ':', '+', '(':
			return k, true
		}
		if norm[i-1] >= 0x80 && precededBy(norm, i, []string{"€", "£", "¥", "＄"}) {
			return k, true
		}
	}
	return k, false
}

// smtpPairAt reads an SMTP basic code norm[i:k] followed by an enhanced code of the same class:
// "451 4.3.2", "550-5.7.1".
func smtpPairAt(norm []byte, i, k, num int) (codeHit, int, bool) {
	n := len(norm)
	if j := skipSpaces(norm, k); j > k || (j < n && norm[j] == '-') {
		if j < n && norm[j] == '-' {
			j = skipSpaces(norm, j+1)
		}
		if j < n && isDigit(norm[j]) && j+1 < n && norm[j+1] == '.' && norm[j] == norm[i] {
			if h, end, ok := enhancedAt(norm, j); ok {
				h.start = i
				h.code.Code = string(norm[i:k]) + " " + h.code.Code
				if m := smtpMeaning[num]; m != "" && h.code.Meaning == "" {
					h.code.Meaning = m
				}
				return h, end, true
			}
		}
	}
	return codeHit{}, 0, false
}

// statusCode names the cued three-digit code num at norm[i:k]: Cloudflare's own 52x where the
// post names Cloudflare, an SMTP-only code in a post about mail, else an HTTP status.
func statusCode(norm []byte, i, k, num int, hasCloudflare bool) (codeHit, bool) {
	if num >= 520 && num <= 530 && hasCloudflare {
		if m := cloudflareMeaning[num]; m != "" {
			return codeHit{record.ErrorCode{Code: "HTTP " + strconv.Itoa(num), Family: "cloudflare", Meaning: m}, i, k}, true
		}
	}
	if m, ok := smtpMeaning[num]; ok && smtpOnly[num] && hasContext(norm, mailContext) && !precededBy(norm, i, []string{"http"}) {
		return codeHit{record.ErrorCode{Code: strconv.Itoa(num), Family: "smtp", Meaning: m}, i, k}, true
	}
	if m, ok := cloudflareMeaning[num]; ok { // de facto Cloudflare codes, even where the post does not say so
		return codeHit{record.ErrorCode{Code: "HTTP " + strconv.Itoa(num), Family: "http", Meaning: m}, i, k}, true
	}
	if m, ok := httpMeaning[num]; ok {
		return codeHit{record.ErrorCode{Code: "HTTP " + strconv.Itoa(num), Family: "http", Meaning: m}, i, k}, true
	}
	return codeHit{}, false
}

// enhancedAt reads an RFC 3463 code "c.sss.ddd" at i: class 2, 4 or 5, subject and detail of 1-3 digits.
func enhancedAt(norm []byte, i int) (codeHit, int, bool) {
	n := len(norm)
	if c := norm[i]; c != '2' && c != '4' && c != '5' {
		return codeHit{}, i + 1, false
	}
	j := i + 2
	k := digitsRun(norm, j)
	if k == j || k-j > 3 || k >= n || norm[k] != '.' {
		return codeHit{}, skipNumber(norm, i), false
	}
	l := digitsRun(norm, k+1)
	if l == k+1 || l-(k+1) > 3 {
		return codeHit{}, skipNumber(norm, i), false
	}
	// A fourth part (1.2.3.4) or a letter glued on (4.3.2a) is a version or an address.
	if l < n && (norm[l] == '.' && l+1 < n && isDigit(norm[l+1]) || isAlnum(norm[l])) {
		return codeHit{}, skipNumber(norm, l), false
	}
	if i > 0 && (norm[i-1] == '.' || norm[i-1] == 'v') {
		return codeHit{}, l, false
	}
	code := string(norm[i:l])
	m := enhancedMeaning[string(norm[i+2:l])]
	switch norm[i] {
	case '4':
		if m != "" {
			m += " (temporary)"
		}
	case '5':
		if m != "" {
			m += " (permanent)"
		}
	}
	return codeHit{record.ErrorCode{Code: code, Family: "smtp", Meaning: m}, i, l}, l, true
}

func isXbox(code string) bool {
	for _, p := range []string{"0x87DD", "0x87E0", "0x87E1", "0x80A4", "0x8015DC", "0x8027025"} {
		if len(code) >= len(p) && code[:len(p)] == p {
			return true
		}
	}
	return false
}

func isYear(b []byte) bool {
	return len(b) == 4 && (b[0] == '1' && b[1] == '9' || b[0] == '2' && b[1] == '0')
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' }
func isAlnum(c byte) bool  { return isDigit(c) || isLetter(c) || c == '_' }
func isHex(c byte) bool    { return isDigit(c) || 'a' <= c && c <= 'f' }

func isAlnumAt(b []byte, i int) bool { return i < len(b) && isAlnum(b[i]) }

func digitsRun(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func hexRun(b []byte, i int) int {
	for i < len(b) && isHex(b[i]) {
		i++
	}
	return i
}

// skipNumber skips digits, dots, commas and colons: the rest of a number that is no code.
func skipNumber(b []byte, i int) int {
	for i < len(b) && (isDigit(b[i]) || b[i] == '.' || b[i] == ',' || b[i] == ':') {
		i++
	}
	return i
}

func skipSpaces(b []byte, i int) int {
	for i < len(b) && b[i] == ' ' {
		i++
	}
	return i
}

func hasPrefixAt(b []byte, i int, p string) bool {
	return len(b)-i >= len(p) && string(b[i:i+len(p)]) == p
}

// precededBy reports whether one of words ends right before i, separated by spaces, ':' or '"'.
func precededBy(b []byte, i int, words []string) bool {
	j := i
	for j > 0 && (b[j-1] == ' ' || b[j-1] == ':' || b[j-1] == '"' || b[j-1] == '\'') {
		j--
	}
	for _, w := range words {
		if j >= len(w) && string(b[j-len(w):j]) == w && (j == len(w) || !isAlnum(b[j-len(w)-1]) || b[j-len(w)] >= 0x80) {
			if j == i && b[j-1] < 0x80 && isAlnum(b[j-1]) {
				continue // glued to a word: "abc500"
			}
			return true
		}
	}
	return false
}

// followedBy reports whether one of words starts at i, after optional spaces.
func followedBy(b []byte, i int, words []string) bool {
	j := skipSpaces(b, i)
	for _, w := range words {
		if w == "" {
			continue
		}
		if w[0] == 's' && len(w) == 2 { // plural "500s": no space allowed before the s
			if i < len(b) && b[i] == 's' && (i+1 == len(b) || !isAlnum(b[i+1])) {
				return true
			}
			continue
		}
		if len(b)-j >= len(w) && string(b[j:j+len(w)]) == w && (j+len(w) == len(b) || !isAlnum(b[j+len(w)]) || w[len(w)-1] >= 0x80) {
			return true
		}
	}
	return false
}

func hasContext(b []byte, words []string) bool {
	for _, w := range words {
		for off := 0; ; {
			k := bytes.Index(b[off:], []byte(w))
			if k < 0 {
				break
			}
			k += off
			if (k == 0 || !isAlnum(b[k-1])) && (k+len(w) == len(b) || !isAlnum(b[k+len(w)]) || w[len(w)-1] >= 0x80) {
				return true
			}
			off = k + 1
		}
	}
	return false
}

func upperHex(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'f' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}

func upperASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}
