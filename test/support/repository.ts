// The digest lives in db/ (SQL stays there); tests import it from here as before.
export { repositoryDigest, type RepositoryDigest } from '../../db/repository-digest';
