package fileid

// PJWHash is FastDFS's PJW hash over s (used by file_distribute_path_mode = 1). It keeps
// FastDFS's signed 32-bit arithmetic: the high nibble is shifted down arithmetically, so when
// its top bit is set the xor flips bits 4..27 as well, before the nibble is cleared.
func PJWHash(s string) uint32 {
	const highBits = ^int32(0x0FFFFFFF) // 0xF0000000
	var h int32
	for i := 0; i < len(s); i++ {
		h = h<<4 + int32(s[i])
		if test := h & highBits; test != 0 {
			h = (h ^ test>>24) & ^highBits
		}
	}
	return uint32(h)
}

// DistributeHash picks XX/YY for file_distribute_path_mode = 1 from a 27-char name part.
// subdirCount is subdir_count_per_path (1..256); values outside that range count as 256.
func DistributeHash(name27 string, subdirCount int) (uint8, uint8) {
	if subdirCount < 1 || subdirCount > 256 {
		subdirCount = 256
	}
	n := PJWHash(name27) % 65536
	return uint8(int(n>>8&0xFF) % subdirCount), uint8(int(n&0xFF) % subdirCount)
}
