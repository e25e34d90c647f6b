// The message with which a job's forwarder (forwarder.ts) hands a connection it
// accepted in the job's namespace to the daemon that started it, the socket
// itself going along over their IPC channel (jobNetwork.ts takes it).
export const HANDOVER_MESSAGE = "pond-egress-connection";
