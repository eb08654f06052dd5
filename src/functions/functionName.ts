export const FUNCTION_NAME = 'exportUsers';
