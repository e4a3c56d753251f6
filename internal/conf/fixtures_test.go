package conf

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFixtureStorage checks every field after loading FastDFS's shipped storage.conf:
// keys present in the file and defaults of keys absent from it.
func TestFixtureStorage(t *testing.T) {
	log, buf := captureLog()
	got, err := LoadStorage(fixture(t, "storage.conf"), log)
	if err != nil {
		t.Fatal(err)
	}
	want := &Storage{
		Path:                      fixture(t, "storage.conf"),
		GroupName:                 "group1",
		BindAddr:                  "",
		ClientBind:                true,
		Port:                      23000,
		ConnectTimeout:            5 * time.Second,
		NetworkTimeout:            60 * time.Second,
		HeartBeatInterval:         30 * time.Second,
		StatReportInterval:        60 * time.Second,
		BasePath:                  "/opt/fastdfs",
		MaxConnections:            1024,
		BuffSize:                  256 << 10,
		DiskRWSeparated:           true,
		DiskReaderThreads:         2,
		DiskWriterThreads:         1,
		SyncMinThreads:            1,
		SyncMaxThreads:            0, // auto
		SyncWait:                  10 * time.Millisecond,
		SyncInterval:              0,
		SyncStartTime:             TimeOfDay{0, 0},
		SyncEndTime:               TimeOfDay{23, 59},
		WriteMarkFileFreq:         500,
		StorePaths:                []StorePath{{Path: "/opt/fastdfs"}},
		SubdirCountPerPath:        256,
		TrackerServers:            []string{"192.168.209.121:22122", "192.168.209.122:22122"},
		LogLevel:                  "info",
		AllowHosts:                []string{"*"},
		AllowHostsAt:              []string{fixture(t, "storage.conf") + ":37"},
		FileDistributePathMode:    0,
		FileDistributeRotateCount: 100,
		FsyncAfterWrittenBytes:    0,
		SyncBinlogBuffInterval:    1 * time.Second,
		SyncStatFileInterval:      60 * time.Second,
		UploadPriority:            10,
		IfAliasPrefix:             "",
		FileSyncSkipInvalidRecord: false,
		UseConnectionPool:         true,
		ConnectionPoolMaxIdleTime: 3600 * time.Second,
		CompressBinlog:            true,
		CompressBinlogTime:        TimeOfDay{1, 30},
		CheckStorePathMark:        true,
		LogFiles: LogRotation{RotateEveryday: true, RotateTime: TimeOfDay{0, 0}, CompressDaysBefore: 7,
			KeepDays: 15, DeleteOldTime: TimeOfDay{1, 30}},
		// absent from the file: defaults
		UseStorageID:          false,
		StorageIDsFilename:    "",
		ServerID:              "",
		StoreSlaveFileUseLink: false,
		ReservedStorageSpace:  Reserved{Bytes: 1024 << 20},
		StopTimeout:           30 * time.Second,
		HTTP: StorageHTTP{
			ServerPort:     8888,
			AccessLog:      "/opt/fastdfs/logs/access.log",
			ModFastDFSConf: fixture(t, "mod_fastdfs.conf"), // exists next to storage.conf
			Controlled:     DefaultControlled(),
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if buf.Len() != 0 {
		t.Errorf("unexpected log output:\n%s", buf)
	}
}

func TestFixtureTracker(t *testing.T) {
	log, buf := captureLog()
	got, err := LoadTracker(fixture(t, "tracker.conf"), log)
	if err != nil {
		t.Fatal(err)
	}
	want := &Tracker{
		Path:                           fixture(t, "tracker.conf"),
		BindAddr:                       "",
		Port:                           22122,
		ConnectTimeout:                 5 * time.Second,
		NetworkTimeout:                 60 * time.Second,
		BasePath:                       "/opt/fastdfs",
		MaxConnections:                 1024,
		MinBuffSize:                    8 << 10,
		MaxBuffSize:                    128 << 10,
		StoreLookup:                    2,
		StoreGroup:                     "group2",
		StoreServer:                    0,
		StorePath:                      0,
		DownloadServer:                 0,
		ReservedStorageSpace:           Reserved{Percent: 20},
		LogLevel:                       "info",
		AllowHosts:                     []string{"*"},
		AllowHostsAt:                   []string{fixture(t, "tracker.conf") + ":25"},
		CheckActiveInterval:            120 * time.Second,
		StorageIPChangedAutoAdjust:     true,
		StorageSyncFileMaxDelay:        86400 * time.Second,
		StorageSyncFileMaxTime:         300 * time.Second,
		UseTrunkFile:                   false, // "false " with a trailing space
		SlotMinSize:                    256,
		SlotMaxSize:                    1 << 20,
		TrunkAllocAlignmentSize:        256,
		TrunkFreeSpaceMerge:            true,
		DeleteUnusedTrunkFiles:         false,
		TrunkFileSize:                  64 << 20,
		TrunkCreateFileAdvance:         false,
		TrunkCreateFileTimeBase:        TimeOfDay{2, 0},
		TrunkCreateFileInterval:        86400 * time.Second,
		TrunkCreateFileSpaceThreshold:  20 << 30,
		TrunkInitCheckOccupying:        false,
		TrunkInitReloadFromBinlog:      false,
		TrunkCompressBinlogMinInterval: 86400 * time.Second,
		TrunkCompressBinlogInterval:    86400 * time.Second,
		TrunkCompressBinlogTimeBase:    TimeOfDay{3, 0},
		TrunkBinlogMaxBackups:          7,
		UseStorageID:                   false,
		StorageIDsFilename:             fixture(t, "storage_ids.conf"),
		IDTypeInFilename:               "id",
		TrustStorageServerID:           true,
		StoreSlaveFileUseLink:          false,
		ResponseIPAddrSize:             "auto",
		UseConnectionPool:              true,
		ConnectionPoolMaxIdleTime:      3600 * time.Second,
		StopTimeout:                    5 * time.Second, // Depot's default
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if buf.Len() != 0 {
		t.Errorf("unexpected log output:\n%s", buf)
	}
}

func TestFixtureClient(t *testing.T) {
	log, buf := captureLog()
	got, err := LoadClient(fixture(t, "client.conf"), log)
	if err != nil {
		t.Fatal(err)
	}
	want := &Client{
		Path:                          fixture(t, "client.conf"),
		ConnectTimeout:                5 * time.Second,
		NetworkTimeout:                60 * time.Second,
		BasePath:                      "/opt/fastdfs",
		TrackerServers:                []string{"192.168.0.196:22122", "192.168.0.197:22122"},
		LogLevel:                      "info",
		ConnectFirstBy:                "tracker",
		UseConnectionPool:             false,
		ConnectionPoolMaxIdleTime:     3600 * time.Second,
		LoadFDFSParametersFromTracker: false,
		UseStorageID:                  false,
		StorageIDsFilename:            fixture(t, "storage_ids.conf"),
		TrackerHTTPPort:               80,
		AntiSteal:                     DefaultHTTP().AntiSteal, // check_token and secret_key absent
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if buf.Len() != 0 {
		t.Errorf("unexpected log output:\n%s", buf)
	}
}

// fixtureHTTP is what the shipped http.conf says, as included from mod_fastdfs.conf
// (path) in the fixture directory, where mime.types and the token_check_fail file are
// missing: both fall back with a warning.
func fixtureHTTP(path string) HTTPConf {
	return HTTPConf{
		Path:                path,
		Disabled:            false,
		NeedFindContentType: true,
		ServerPort:          80,
		DefaultContentType:  "application/octet-stream",
		MimeTypesFilename:   "", // mime.types is missing: built-in table
		MultiRangeEnabled:   true,
		MultiRangeMaxRanges: 16,
		AntiSteal: AntiSteal{
			CheckToken:     false,
			TokenTTL:       900 * time.Second,
			SecretKey:      "FastDFS1234567890",
			TokenCheckFail: "", // /home/yuqing/... is missing and check_token is off
			FutureSkew:     300 * time.Second,
		},
	}
}

func checkFixtureHTTPWarnings(t *testing.T, log string) {
	t.Helper()
	for _, w := range []string{"token_check_fail file missing", "mime types file missing"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	if strings.Contains(log, "unknown key") {
		t.Errorf("unexpected unknown-key warning:\n%s", log)
	}
}

func TestFixtureHTTP(t *testing.T) {
	log, buf := captureLog()
	got, err := LoadHTTP(fixture(t, "http.conf"), log)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.MimeTypes, BuiltinMimeTypes()) {
		t.Error("MimeTypes is not the built-in table")
	}
	got.MimeTypes = nil
	if want := fixtureHTTP(fixture(t, "http.conf")); !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
	checkFixtureHTTPWarnings(t, buf.String())
}

func TestFixtureMod(t *testing.T) {
	log, buf := captureLog()
	got, err := LoadMod(fixture(t, "mod_fastdfs.conf"), log)
	if err != nil {
		t.Fatal(err)
	}
	if got.HTTP.MimeTypes["jpg"] != "image/jpeg" {
		t.Errorf("jpg → %q, want image/jpeg", got.HTTP.MimeTypes["jpg"])
	}
	got.HTTP.MimeTypes = nil
	paths := []StorePath{{Path: "/home/yuqing/fastdfs"}}
	want := &Mod{
		Path:                          fixture(t, "mod_fastdfs.conf"),
		ConnectTimeout:                2 * time.Second,
		NetworkTimeout:                30 * time.Second,
		BasePath:                      "/tmp",
		LoadFDFSParametersFromTracker: true,
		TrackerServers:                []string{"tracker:22122"},
		StorageSyncFileMaxDelay:       86400 * time.Second,
		UseStorageID:                  false,
		StorageIDsFilename:            fixture(t, "storage_ids.conf"),
		StorageServerPort:             23000,
		GroupName:                     "group1",
		URLHaveGroupName:              false,
		StorePaths:                    paths,
		LogLevel:                      "info",
		LogFilename:                   "",
		ResponseMode:                  ResponseProxy,
		IfAliasPrefix:                 "",
		FLVSupport:                    true,
		FLVExtension:                  "flv",
		GroupCount:                    0,
		Groups:                        []ModGroup{{GroupName: "group1", StorageServerPort: 23000, StorePaths: paths}},
		HTTP:                          fixtureHTTP(fixture(t, "mod_fastdfs.conf")),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	checkFixtureHTTPWarnings(t, buf.String())
}

// TestFixtureStorageIDs: the shipped storage_ids.conf gives a port on its IPv6 line only,
// which FastDFS itself rejects ("some storages without port"); Depot rejects it too,
// naming line 3. With ports made uniform, every field is checked.
func TestFixtureStorageIDs(t *testing.T) {
	_, err := LoadStorageIDs(fixture(t, "storage_ids.conf"))
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 3 || !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("err = %v, want line 3 mixed-port error", err)
	}
	for _, tc := range []struct {
		name, sub string
		port      int
	}{
		{"no ports", "", 0},
		{"all ports", ":23001", 23001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := "100001   group1  192.168.0.196" + tc.sub + "\n" +
				"100002   group1  192.168.0.197" + tc.sub + "\n" +
				"100003   group1  [2409:8a20:42d:2f40:587a:4c47:72c0:ad8e]" + tc.sub + "  rw=none\n"
			got, err := ParseStorageIDs("storage_ids.conf", []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			want := []StorageIDEntry{
				{ID: "100001", Group: "group1", Hosts: []string{"192.168.0.196"}, Port: tc.port, RW: RWBoth, Line: 1},
				{ID: "100002", Group: "group1", Hosts: []string{"192.168.0.197"}, Port: tc.port, RW: RWBoth, Line: 2},
				{ID: "100003", Group: "group1", Hosts: []string{"2409:8a20:42d:2f40:587a:4c47:72c0:ad8e"}, Port: tc.port, RW: RWNone, Line: 3},
			}
			if !reflect.DeepEqual(got.Entries, want) {
				t.Errorf("got  %+v\nwant %+v", got.Entries, want)
			}
		})
	}
}
