export { equivalents, unshareCommand, ociConfig, ociResources, dockerCommand, equivalentNotes, shellQuote, shellJoin, CONTAINER_CAPS } from './equivalent';
export type { EquivalentInput, Equivalents, OciConfig, OciMount, OciIdMapping, OciResources } from './equivalent';
export { equivalentCommand, equivalentInput, formatEquivalents, takeJsonFlag, EQUIVALENT_HELP } from './command';
