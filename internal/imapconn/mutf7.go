package imapconn

import "encoding/base64"

// mutf7 is the modified base64 of RFC 3501: ',' instead of '/', no padding.
var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

var b64 = base64.StdEncoding
