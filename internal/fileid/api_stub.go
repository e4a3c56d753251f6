package fileid

import (
	"errors"
	"net/netip"
)

// THIS FILE IS A STUB: the implementer replaces it with parse.go and gen.go.

var errTODO = errors.New("fileid: not implemented yet")

// Size returns the file size decoded from the name and true for Normal and Trunk IDs;
// Appender and Slave IDs carry no size (FastDFS reports -1).
func (id ID) Size() (int64, bool) { return 0, false }

// Parse parses a full file ID "group/M00/XX/YY/name", splitting the group at the first '/'.
func Parse(s string) (ID, error) { return ID{}, errTODO }

// ParseRemote parses "M00/XX/YY/name" and attaches group (which may be empty).
func ParseRemote(group, remote string) (ID, error) { return ID{}, errTODO }

// ValidGroup checks a group name: 1..16 chars of [A-Za-z0-9].
func ValidGroup(g string) error { return errTODO }

// NewParams are the inputs to New.
type NewParams struct {
	Group    string
	Path     int   // store path index 0..255
	Dir1     uint8 // XX
	Dir2     uint8 // YY
	Source   [4]byte
	Created  int64 // Unix seconds
	Size     int64
	CRC32    uint32
	Ext      string // without the dot, 0..6 chars of [A-Za-z0-9_.-]
	Appender bool
	Trunk    *TrunkSlot // non-nil for a trunk file
	// Rand supplies the random bits (masked size high bits, extension digits).
	// Nil means math/rand/v2.
	Rand func() uint32
}

// New generates a file ID exactly as a FastDFS storage does on upload.
func New(p NewParams) (ID, error) { return ID{}, errTODO }

// SlaveOf returns the ID of the slave file of master with the given prefix and extension
// (ext "" keeps the master's extension).
func SlaveOf(master ID, prefix, ext string) (ID, error) { return ID{}, errTODO }

// SourceFromIPv4 packs an IPv4 address as the source bytes of new IDs.
func SourceFromIPv4(a netip.Addr) ([4]byte, error) { return [4]byte{}, errTODO }

// SourceFromServerID packs a storage server id (1..16777215) as the source bytes of new IDs.
func SourceFromServerID(id uint32) ([4]byte, error) { return [4]byte{}, errTODO }

// PJWHash is FastDFS's PJW hash over s (used by file_distribute_path_mode = 1).
func PJWHash(s string) uint32 { return 0 }

// DistributeHash picks XX/YY for file_distribute_path_mode = 1 from a 27-char name part.
func DistributeHash(name27 string, subdirCount int) (uint8, uint8) { return 0, 0 }
