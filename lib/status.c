/*
 * status.c - reason phrases, a table indexed by the status code itself
 * (designated initialisers, as suckless quark's http.c does).
 */
#include "internal.h"

static const char *const reason[600] = {
    [TP_S_OK] = "OK",
    [TP_S_CREATED] = "Created",
    [TP_S_ACCEPTED] = "Accepted",
    [TP_S_NO_CONTENT] = "No Content",
    [TP_S_FOUND] = "Found",
    [TP_S_BAD_REQUEST] = "Bad Request",
    [TP_S_UNAUTHORIZED] = "Unauthorized",
    [TP_S_FORBIDDEN] = "Forbidden",
    [TP_S_NOT_FOUND] = "Not Found",
    [TP_S_METHOD_NOT_ALLOWED] = "Method Not Allowed",
    [TP_S_NOT_ACCEPTABLE] = "Not Acceptable",
    [TP_S_CONFLICT] = "Conflict",
    [TP_S_GONE] = "Gone",
    [TP_S_PRECONDITION_FAILED] = "Precondition Failed",
    [TP_S_PAYLOAD_TOO_LARGE] = "Payload Too Large",
    [TP_S_UNSUPPORTED_MEDIA_TYPE] = "Unsupported Media Type",
    [TP_S_UNPROCESSABLE] = "Unprocessable Content",
    [TP_S_TOO_MANY_REQUESTS] = "Too Many Requests",
    [TP_S_INTERNAL_SERVER_ERROR] = "Internal Server Error",
    [TP_S_BAD_GATEWAY] = "Bad Gateway",
    [TP_S_SERVICE_UNAVAILABLE] = "Service Unavailable",
    [TP_S_GATEWAY_TIMEOUT] = "Gateway Timeout",
};

const char *tp_status_str(int status)
{
	if (status < 0 || status >= (int)(sizeof reason / sizeof reason[0]) || !reason[status])
		return "Unknown";
	return reason[status];
}
