/** qrexec exit-code conventions (design §4), as qrexec-client-vm reports them. */
export const EXIT_PROBLEM = 125;
export const EXIT_REFUSED = 126;
export const EXIT_NO_SERVICE = 127;
