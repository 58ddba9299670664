/*
 * Fake GA/T 947.4 body-worn-recorder vendor SDK (no test machine has a recorder
 * on USB). It exports the functions vendor SDKs export (cdecl, each returning 1
 * on success and an acknowledgement code in *iRet), backed by a state folder
 * named by FAKE_GAT947_STATE:
 *   id_code         the IDCode Init_Device accepts (any, if absent)
 *   password        the administrator password the device accepts
 *   info            94 bytes: the ZFY_INFO struct, exactly as the device stores it
 *   device_clock    "YYYY-MM-DD hh:mm:ss", device-local; SyncDevTime rewrites it
 *                   with the station's local time now
 *   refuse_sync     if present, SyncDevTime fails (SET_SYSTEMTIME_FAILED)
 *   unplugged       if present, every call fails (CONNECT_FAILED): cable pulled
 *   unplug_after    a function name: once it has succeeded, `unplugged` is created
 *   mount_root      a folder; SetMSDC moves card/ to <mount_root>/<volume_label>
 *   volume_label    the label the mass-storage volume appears under (default REC)
 *   card/           the recorder's files
 *   calls.log       every call, one function name a line, appended
 * Built with -DNO_GETDEVTIME it lacks the optional GetDevTime (as most vendors do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    CONNECT_SUCCESS = 1, CONNECT_FAILED, CHECK_PWD_SUCCESS, CHECK_PWD_FAILED,
    SET_SYSTEMTIME_SUCCESS, SET_SYSTEMTIME_FAILED, MSDC_SUCCESS, MSDC_FAILED
};

typedef struct {
    char cSerial[8];
    char userNo[7];
    char userName[33];
    char unitNo[13];
    char unitName[33];
} ZFY_INFO;

static int initialised;

static void state_path(char *out, size_t size, const char *name) {
    const char *dir = getenv("FAKE_GAT947_STATE");
    snprintf(out, size, "%s/%s", dir ? dir : ".", name);
}

static int exists(const char *name) {
    char path[4096];
    state_path(path, sizeof path, name);
    return access(path, F_OK) == 0;
}

/* Reads a state file into buf (NUL-terminated, trailing newline dropped); -1 if absent. */
static long read_state(const char *name, char *buf, size_t size) {
    char path[4096];
    state_path(path, sizeof path, name);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = 0;
    if (n > 0 && buf[n - 1] == '\n') buf[--n] = 0;
    return (long)n;
}

static void write_state(const char *name, const char *text) {
    char path[4096];
    state_path(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void log_call(const char *name) {
    char path[4096];
    state_path(path, sizeof path, "calls.log");
    FILE *f = fopen(path, "a");
    if (f) {
        fprintf(f, "%s\n", name);
        fclose(f);
    }
}

/* Logs the call; 0 (with CONNECT_FAILED) when the device is gone or not initialised. */
static int reachable(const char *name, int *iRet, int need_init) {
    log_call(name);
    if (exists("unplugged") || (need_init && !initialised)) {
        *iRet = CONNECT_FAILED;
        return 0;
    }
    return 1;
}

static int password_ok(const char *pwd, int *iRet) {
    char want[256];
    if (read_state("password", want, sizeof want) < 0) want[0] = 0;
    if (!pwd || strcmp(pwd, want) != 0) {
        *iRet = CHECK_PWD_FAILED;
        return 0;
    }
    return 1;
}

static int succeeded(const char *name, int *iRet, int code) {
    char after[256];
    *iRet = code;
    if (read_state("unplug_after", after, sizeof after) >= 0 && strcmp(after, name) == 0)
        write_state("unplugged", "");
    return 1;
}

int Init_Device(char *IDCode, int *iRet) {
    char want[256];
    if (!reachable("Init_Device", iRet, 0)) return 0;
    if (read_state("id_code", want, sizeof want) >= 0 && (!IDCode || strcmp(IDCode, want) != 0)) {
        *iRet = CONNECT_FAILED;
        return 0;
    }
    initialised = 1;
    return succeeded("Init_Device", iRet, CONNECT_SUCCESS);
}

int UnInit_Device(int *iRet) {
    log_call("UnInit_Device");
    initialised = 0;
    if (iRet) *iRet = CONNECT_SUCCESS;
    return 1;
}

int GetZFYInfo(ZFY_INFO *info, char *sPwd, int *iRet) {
    char path[4096];
    if (!reachable("GetZFYInfo", iRet, 1) || !password_ok(sPwd, iRet)) return 0;
    memset(info, 0, sizeof *info);
    state_path(path, sizeof path, "info");
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t n = fread(info, 1, sizeof *info, f);
        (void)n;
        fclose(f);
    }
    return succeeded("GetZFYInfo", iRet, CONNECT_SUCCESS);
}

int WriteZFYInfo(ZFY_INFO *info, char *sPwd, int *iRet) {
    char path[4096];
    if (!reachable("WriteZFYInfo", iRet, 1) || !password_ok(sPwd, iRet)) return 0;
    state_path(path, sizeof path, "info");
    FILE *f = fopen(path, "wb");
    if (!f) {
        *iRet = CONNECT_FAILED;
        return 0;
    }
    fwrite(info, 1, sizeof *info, f);
    fclose(f);
    return succeeded("WriteZFYInfo", iRet, CONNECT_SUCCESS);
}

#ifndef NO_GETDEVTIME
int GetDevTime(char *out, char *sPwd, int *iRet) {
    char clock[64];
    if (!reachable("GetDevTime", iRet, 1) || !password_ok(sPwd, iRet)) return 0;
    if (read_state("device_clock", clock, sizeof clock) < 0) {
        *iRet = CONNECT_FAILED;
        return 0;
    }
    strcpy(out, clock);
    return succeeded("GetDevTime", iRet, CONNECT_SUCCESS);
}
#endif

int SyncDevTime(char *sPwd, int *iRet) {
    char now[64];
    time_t t = time(NULL);
    struct tm local;
    if (!reachable("SyncDevTime", iRet, 1) || !password_ok(sPwd, iRet)) return 0;
    if (exists("refuse_sync")) {
        *iRet = SET_SYSTEMTIME_FAILED;
        return 0;
    }
    localtime_r(&t, &local);
    strftime(now, sizeof now, "%Y-%m-%d %H:%M:%S", &local);
    write_state("device_clock", now);
    return succeeded("SyncDevTime", iRet, SET_SYSTEMTIME_SUCCESS);
}

int SetMSDC(char *sPwd, int *iRet) {
    char root[4096], label[256], card[4096], target[8192];
    if (!reachable("SetMSDC", iRet, 1) || !password_ok(sPwd, iRet)) return 0;
    if (read_state("mount_root", root, sizeof root) < 0) {
        *iRet = MSDC_FAILED;
        return 0;
    }
    if (read_state("volume_label", label, sizeof label) < 0) strcpy(label, "REC");
    state_path(card, sizeof card, "card");
    snprintf(target, sizeof target, "%s/%s", root, label);
    if (rename(card, target) != 0) {
        *iRet = MSDC_FAILED;
        return 0;
    }
    initialised = 0; /* the recorder re-enumerates as a USB disk: the SDK session ends */
    return succeeded("SetMSDC", iRet, MSDC_SUCCESS);
}
